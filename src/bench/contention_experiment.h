#pragma once
// `streaminfer bench contention`: the same `run` job alone and beside 1 and 2 busy processes
// (busy loops this bench starts and always ends), for each way LibTorch's OpenMP threads may
// wait: libgomp's default spinning, sleeping at once (passive) and streaminfer's choice
// (common/openmp_waiting.h: a short spin, 1,000 rounds).
// Each job is a child `streaminfer run` (the wait policy is fixed when a process starts); the
// runs are interleaved so that noise from the rest of the machine falls on every variant.
#include <string>
#include <vector>

#include "report/bench_plot.h"
#include "streaminfer/status.h"

namespace streaminfer {

struct ContentionOptions {
  std::vector<int> busy = {0, 1, 2};  // busy processes beside the job
  // `run` flags of the job; empty: the default job in int8 (4 synthetic 720p30 cameras, 10 s).
  std::vector<std::string> run_flags;
  int rounds = 1;        // each (variant, busy) is run this many times; the median counts
  std::string work_dir;  // each run's metrics folder goes under it
};

struct ContentionRun {
  std::string
      variant;      // "libgomp default (spin)", "sleep at once (passive)", "streaminfer's choice"
  std::string env;  // what the child got: "GOMP_SPINCOUNT=300000", ...
  int busy = 0;
  double fps = 0;
  long frames = 0, dropped = 0;
  double inference_p50_ms = 0;
};

struct ContentionResult {
  ContentionOptions options;
  std::vector<std::string> run_flags;  // as run
  std::vector<ContentionRun> runs;     // medians, one per (variant, busy)
};

// bin: the streaminfer executable to run the jobs with.
Result<ContentionResult> run_contention_bench(const std::string& bin,
                                              const ContentionOptions& options);

// The table: FPS, frames, inference p50 per variant and busy count, and each variant's FPS
// beside busy processes over its FPS alone, and over the spinning default's alone.
std::string format_contention_bench(const ContentionResult& result);
Result<std::string> write_contention_bench_csv(const ContentionResult& result,
                                               const std::string& dir);
BenchPlot contention_bench_plot(const ContentionResult& result);

}  // namespace streaminfer
