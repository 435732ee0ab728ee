#pragma once
// `streaminfer bench batching`: N synthetic cameras through the whole pipeline, one frame per
// inference with the cameras taking turns ("sequential", what a per-camera loop does) against
// batches across cameras (batch = number of cameras, and fixed sizes). Per-camera FPS, aggregate
// FPS, each camera's FPS drop against one camera alone, and end-to-end latency p50/p99, so the
// question "4 cameras sequential: X FPS each; batched: Y FPS each" has its answer.
#include <string>
#include <vector>

#include "report/bench_plot.h"
#include "streaminfer/status.h"

namespace streaminfer {

struct BatchingBenchOptions {
  std::vector<int> streams = {1, 2, 4, 8};
  std::vector<int> batch_sizes = {1, 2, 4, 8};  // each used where it is <= the stream count
  int frames = 32;                              // per camera and run
  std::string model = "yolov8n";
  int input_size = 640;
  int threads = 0;             // LibTorch intra-op threads; 0 = all cores
  int tensor_cache_mb = 1024;  // see BackendOptions::tensor_cache_mb
  int width = 1280, height = 720;
  int warmup = 2;  // forwards per batch size before its first run
};

struct BatchingBenchRow {
  int streams = 0;
  int batch = 0;
  std::string mode;  // "sequential" (batch 1), "batched" (batch = streams) or "fixed"
  int64_t frames = 0;
  double wall_s = 0;
  double aggregate_fps = 0;
  double per_camera_fps = 0;
  double drop_vs_one_camera = 0;  // 1 - per-camera FPS / FPS of one camera alone (sequential)
  double p50_ms = 0, p99_ms = 0;  // end to end, decode start -> postprocess end
};

struct BatchingBenchResult {
  BatchingBenchOptions options;
  std::string model_description;
  std::vector<BatchingBenchRow> rows;
};

Result<BatchingBenchResult> run_batching_bench(const BatchingBenchOptions& options);

// The table, then one line per stream count: "4 cameras: sequential X FPS each, batched Y FPS
// each (Z x)".
std::string format_batching_bench(const BatchingBenchResult& result);

// FPS per camera, aggregate FPS and p99 latency against the camera count, per batching mode.
BenchPlot batching_bench_plot(const BatchingBenchResult& result);

// DIR/batching.csv, one row per run. Returns the path written.
Result<std::string> write_batching_bench_csv(const BatchingBenchResult& result,
                                             const std::string& dir);

}  // namespace streaminfer
