#pragma once
// `streaminfer bench frames`: one long video, frame by frame against batches of 2/4/8/16, each
// once as the simple serial loop people write first (decode a batch, preprocess it, infer,
// postprocess, repeat: the model idles while frames are decoded, the decoder idles while the
// model runs) and once through the engine's pipeline (decode and preprocessing of the next
// batch overlapped with inference of this one). Each row is set against the inference stage's
// isolated throughput at the same batch size and threads: the pipeline should cost almost
// nothing beyond its slowest stage.
#include <cstdint>
#include <string>
#include <vector>

#include "bench/bench_common.h"
#include "report/bench_plot.h"
#include "streaminfer/status.h"

namespace streaminfer {

struct FramesBenchOptions {
  // A video file or any source URI; empty: a synthetic 1280x720 H.264 clip written to clip_dir.
  std::string source;
  std::string clip_dir = "bench-out/frames";
  int clip_width = 1280, clip_height = 720;
  int64_t clip_frames = 0;  // 0: max(frames, 300), ten seconds at 30 fps
  int64_t frames = 96;      // per run, from the start of the video
  std::vector<int> batch_sizes = {1, 2, 4, 8, 16};
  BenchModel model;
  int decode_threads = 0;  // 0: planned as `run` plans them (config/thread_plan.h)
  int warmup = 2;          // forwards per batch size before its first run
  int isolated_reps = 5;   // timed forwards per batch size for the isolated throughput
  bool serial = true;      // run the serial loop
  bool pipelined = true;   // run the pipeline
  // Each batch size's runs (and the model alone timed around each) this many times in turn; the
  // summary gives the median share of the model alone.
  int rounds = 1;
};

struct FramesBenchRow {
  int batch = 0;
  int round = 0;
  std::string mode;  // "serial" or "pipelined"
  int64_t frames = 0;
  double wall_s = 0;
  double fps = 0;
  double p50_ms = 0, p99_ms = 0;  // per frame: decode start -> detections
  // The model alone on a ready batch: the mean of its throughput timed just before and just
  // after this run.
  double isolated_fps = 0;
  double share_of_isolated = 0;  // fps / isolated_fps
  // Share of the run's wall time the inference stage was busy: the run's speed against its own
  // inference stage, timed in the same run. Unlike the model alone (timed around the run), it
  // does not move when the machine's load changes.
  double inference_busy = 0;
};

struct FramesBenchResult {
  FramesBenchOptions options;
  std::string source;  // the uri that was read
  std::string source_description;
  std::string model_description;
  std::vector<FramesBenchRow> rows;
};

Result<FramesBenchResult> run_frames_bench(const FramesBenchOptions& options);
std::string format_frames_bench(const FramesBenchResult& result);
// FPS and latency against the batch size: serial loop, pipeline, model alone.
BenchPlot frames_bench_plot(const FramesBenchResult& result);

// DIR/frames.csv, one row per run. Returns the path written.
Result<std::string> write_frames_bench_csv(const FramesBenchResult& result, const std::string& dir);

}  // namespace streaminfer
