#pragma once
// `streaminfer bench decode`: the decode ceiling. N streams of the same 720p H.264 clip decoded
// at once, each on its own thread with the engine's FFmpeg settings, as fast as they go, with no
// inference: aggregate frames per second, and how many 30 fps cameras that would keep up with.
#include <string>
#include <vector>

#include "bench/bench_common.h"
#include "report/bench_plot.h"
#include "streaminfer/status.h"

namespace streaminfer {

struct DecodeBenchOptions {
  std::string source;  // empty: the synthetic 1280x720 H.264 clip, written to clip_dir
  std::string clip_dir = "bench-out/decode";
  int clip_width = 1280, clip_height = 720;
  std::vector<int> streams = {1, 2, 4, 8, 16};
  std::vector<int> decode_threads = {1, 2};  // FFmpeg threads per decoder
  int64_t frames = 150;                      // per stream and run (fewer if the video is shorter)
  double target_fps = 30;                    // the camera rate the ceiling is counted in
};

struct DecodeBenchRow {
  int streams = 0;
  int decode_threads = 0;
  int64_t frames = 0;
  double wall_s = 0;
  double aggregate_fps = 0;
  double per_stream_fps = 0;
  bool keeps_up = false;  // per-stream FPS >= target_fps
};

struct DecodeBenchResult {
  DecodeBenchOptions options;
  std::string source;
  std::string source_description;
  std::vector<DecodeBenchRow> rows;
  // Largest aggregate FPS / target_fps over all rows: the cameras this machine could decode.
  double ceiling_streams = 0;
};

Result<DecodeBenchResult> run_decode_bench(const DecodeBenchOptions& options);
std::string format_decode_bench(const DecodeBenchResult& result);
BenchPlot decode_bench_plot(const DecodeBenchResult& result);
Result<std::string> write_decode_bench_csv(const DecodeBenchResult& result, const std::string& dir);

}  // namespace streaminfer
