#pragma once
// `streaminfer bench placement`: where the work runs. The same synthetic-camera workload with
// LibTorch on 1..N threads, each unbound and bound to as many cores, and (where this build and
// machine have one) preprocessing and the model on a GPU. Rows that cannot exist here are listed
// with the reason, so a table from a CPU-only machine says what it did not measure.
#include <string>
#include <vector>

#include "bench/bench_common.h"
#include "report/bench_plot.h"
#include "streaminfer/status.h"

namespace streaminfer {

struct PlacementBenchOptions {
  BenchModel model;
  std::vector<int> threads;  // empty: 1..cores usable by this process
  int cameras = 4;
  int batch = 4;
  int64_t frames = 16;  // per camera and row
  int width = 1280, height = 720;
  int warmup = 2;
  bool core_binding = true;  // also run each thread count bound to as many cores
};

struct PlacementBenchRow {
  std::string preprocess = "cpu";
  std::string model = "cpu";
  int threads = 0;
  std::string cores;  // "unbound" or the core list, e.g. "0-1"
  int64_t frames = 0;
  double wall_s = 0;
  double fps = 0;
  double inference_p50_ms = 0;   // per batch
  double preprocess_p50_ms = 0;  // per frame
  double e2e_p50_ms = 0, e2e_p99_ms = 0;
  double inference_busy = 0;  // share of wall time
};

struct PlacementBenchResult {
  PlacementBenchOptions options;
  std::string model_description;
  std::vector<PlacementBenchRow> rows;
  std::vector<std::string> not_measured;  // "model on cuda: this build has no CUDA backend"
};

Result<PlacementBenchResult> run_placement_bench(const PlacementBenchOptions& options);
std::string format_placement_bench(const PlacementBenchResult& result);
// FPS and inference time per batch against threads, bound and unbound.
BenchPlot placement_bench_plot(const PlacementBenchResult& result);
// DIR/placement.csv. Returns the path written.
Result<std::string> write_placement_bench_csv(const PlacementBenchResult& result,
                                              const std::string& dir);

}  // namespace streaminfer
