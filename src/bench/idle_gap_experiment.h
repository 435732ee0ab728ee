#pragma once
// `streaminfer bench idle-gap`: does inference get slower when the engine idles between calls,
// as it does between the frames of a camera? The same forward on a fixed input, iterations
// spaced by 0, 5, 10, 20, 50, 100 ms, with every iteration's latency kept next to the CPU clock
// (and, where NVML is present, the GPU's SM clock and P-state) read just before it, so a slowdown
// can be put down to a clock or to something else from the data, not guessed. Step changes within
// a series are found by the change-point detector of profile/change_point.h.
//
// Pacing variants, each run at every gap (the gap is measured from the end of one forward to the
// start of the next; the clock readings, a fraction of a millisecond, fall inside it):
//   sleep      std::this_thread::sleep_until: the core may idle, clock down, and the LibTorch
//              (OpenMP) worker threads stop spinning and block.
//   busy       spin on the steady clock: the calling core never idles (the workers still do).
//   keep-warm  (--keep-warm) sleep, but every ~1 ms run a tiny matmul on each LibTorch thread
//              through at::parallel_for, so every worker and its core wakes up regularly.
// CUDA graphs, the GPU mitigation, need the CUDA backend: not in this experiment's CPU build.
#include <string>
#include <vector>

#include "profile/change_point.h"
#include "report/bench_plot.h"
#include "streaminfer/status.h"

namespace streaminfer {

struct IdleGapBenchOptions {
  std::vector<int> gaps_ms = {0, 5, 10, 20, 50, 100};
  int iterations = 300;  // recorded per variant and gap
  int warmup = 10;       // paced iterations dropped at the start of each series (and forwards
                         // back to back before the first one)
  std::string model = "yolov8n";
  int input_size = 320;
  int batch = 1;
  int threads = 0;              // LibTorch intra-op threads; 0 = all cores
  std::string pacing = "both";  // sleep, busy or both
  bool keep_warm = false;       // adds the keep-warm variant
  double keep_warm_period_ms = 1.0;
  ChangePointOptions change_points;
};

struct IdleGapSample {
  double latency_ms = 0;
  double cpu_mhz = -1;  // of the core the forward was called from; -1: unknown
  int gpu_sm_mhz = -1;  // -1: no NVML
  int gpu_pstate = -1;
};

struct IdleGapSeries {
  std::string variant;  // sleep, busy, keep-warm
  int gap_ms = 0;
  std::vector<IdleGapSample> samples;
  ChangePoints change_points;  // over latency_ms
  double p50_ms() const;
  double p99_ms() const;
  double mean_ms() const;
  // Median CPU MHz of samples [begin, end) (all when end is 0); -1 when unknown.
  double cpu_mhz(size_t begin = 0, size_t end = 0) const;
  double gpu_sm_mhz() const;  // median; -1 when not sampled
};

struct IdleGapBenchResult {
  IdleGapBenchOptions options;
  std::string model_description;
  std::string cpu_clock_source;  // CpuFrequencyReader::describe()
  std::string gpu_status;        // GpuClockSampler::status()
  bool gpu_sampled = false;
  double keep_warm_unit_ms = 0;       // one keep-warm unit (all threads), median; 0 without it
  std::vector<IdleGapSeries> series;  // in run order: gap by gap, each variant in turn
};

Result<IdleGapBenchResult> run_idle_gap_bench(const IdleGapBenchOptions& options);

// The table (per gap, each variant's p50/p99 and their ratio to the same variant at gap 0, CPU
// MHz, steps), then one "latency stepped from A ms to B ms at iteration K" line per step found.
std::string format_idle_gap_bench(const IdleGapBenchResult& result);

// Latency p50/p99 against the gap per variant, and every iteration's latency (one series per
// variant and gap) so that steps are seen, not only counted.
BenchPlot idle_gap_bench_plot(const IdleGapBenchResult& result);

// DIR/idle_gap_iterations.csv (variant,gap_ms,iteration,latency_ms,cpu_mhz,gpu_sm_mhz,gpu_pstate;
// unknown clocks are empty cells) and DIR/idle_gap_summary.csv
// (variant,gap_ms,iterations,p50_ms,p99_ms,mean_ms,steps). Returns the paths written.
Result<std::vector<std::string>> write_idle_gap_csv(const IdleGapBenchResult& result,
                                                    const std::string& dir);

}  // namespace streaminfer
