#include "bench/idle_gap_experiment.h"

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/types.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <thread>

#include "infer/backend.h"
#include "profile/cpu_frequency.h"
#include "profile/gpu_clock_sampler.h"
#include "streaminfer/clock.h"

namespace streaminfer {
namespace {

constexpr int kMaxGapMs = 10000;

Status check(const IdleGapBenchOptions& o) {
  if (o.gaps_ms.empty()) return Status::error("bench idle-gap: --gaps is empty");
  for (int gap : o.gaps_ms) {
    if (gap < 0 || gap > kMaxGapMs) {
      return Status::error(
          fmt::format("bench idle-gap: --gaps values must be 0..{} ms (got {})", kMaxGapMs, gap));
    }
  }
  const auto at_least = [](const char* flag, int value, int least) {
    return value >= least
               ? Status::ok()
               : Status::error(fmt::format("bench idle-gap: {} must be at least {} (got {})", flag,
                                           least, value));
  };
  SI_RETURN_IF_ERROR(at_least("--iterations", o.iterations, 1));
  SI_RETURN_IF_ERROR(at_least("--warmup", o.warmup, 0));
  SI_RETURN_IF_ERROR(at_least("--batch", o.batch, 1));
  SI_RETURN_IF_ERROR(at_least("--threads", o.threads, 0));
  if (o.pacing != "sleep" && o.pacing != "busy" && o.pacing != "both") {
    return Status::error(
        fmt::format("bench idle-gap: --pacing must be sleep, busy or both (got '{}')", o.pacing));
  }
  return Status::ok();
}

std::vector<std::string> variants_of(const IdleGapBenchOptions& o) {
  std::vector<std::string> variants;
  if (o.pacing != "busy") variants.push_back("sleep");
  if (o.pacing != "sleep") variants.push_back("busy");
  if (o.keep_warm) variants.push_back("keep-warm");
  return variants;
}

// Where the keep-warm unit's result goes: volatile, so the compiler cannot drop the work.
thread_local volatile float keep_warm_sink = 0;

// The keep-warm unit: a 32x32 matmul (about 33k multiply-adds, microseconds) on every LibTorch
// intra-op thread, so that each worker, not only the calling thread, wakes up and runs.
void keep_warm_unit() {
  constexpr int kN = 32;
  const int64_t threads = at::get_num_threads();
  at::parallel_for(0, threads, 1, [](int64_t begin, int64_t end) {
    thread_local std::array<float, kN * kN> a{}, b{}, c{};
    for (int64_t chunk = begin; chunk < end; ++chunk) {
      for (int i = 0; i < kN * kN; ++i) {
        a[i] = static_cast<float>(i % 7) * 0.5f;
        b[i] = static_cast<float>(i % 5) * 0.25f;
      }
      for (int i = 0; i < kN; ++i) {
        for (int j = 0; j < kN; ++j) {
          float sum = 0;
          for (int k = 0; k < kN; ++k) sum += a[i * kN + k] * b[k * kN + j];
          c[i * kN + j] = sum;
        }
      }
      keep_warm_sink = std::accumulate(c.begin(), c.end(), 0.0f);
    }
  });
}

void sleep_until_ns(int64_t deadline) {
  std::this_thread::sleep_until(std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::nanoseconds(deadline))));
}

// Waits until `deadline` (steady-clock ns) the way `variant` paces.
void wait_until(const std::string& variant, int64_t deadline, int64_t unit_ns, int64_t period_ns) {
  if (variant == "busy") {
    while (now_ns() < deadline) {
    }
    return;
  }
  if (variant == "keep-warm") {
    for (int64_t now = now_ns(); now + unit_ns < deadline; now = now_ns()) {
      keep_warm_unit();
      sleep_until_ns(std::min(now_ns() + period_ns, deadline));
    }
  }
  sleep_until_ns(deadline);
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  // Nearest rank: the smallest value with at least p% of the values at or below it.
  const auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

std::vector<double> latencies(const IdleGapSeries& s) {
  std::vector<double> out;
  out.reserve(s.samples.size());
  for (const auto& sample : s.samples) out.push_back(sample.latency_ms);
  return out;
}

}  // namespace

double IdleGapSeries::p50_ms() const { return percentile(latencies(*this), 50); }
double IdleGapSeries::p99_ms() const { return percentile(latencies(*this), 99); }
double IdleGapSeries::mean_ms() const {
  if (samples.empty()) return 0.0;
  const auto l = latencies(*this);
  return std::accumulate(l.begin(), l.end(), 0.0) / static_cast<double>(l.size());
}

double IdleGapSeries::cpu_mhz(size_t begin, size_t end) const {
  if (end == 0 || end > samples.size()) end = samples.size();
  std::vector<double> known;
  for (size_t i = begin; i < end; ++i) {
    if (samples[i].cpu_mhz > 0) known.push_back(samples[i].cpu_mhz);
  }
  return known.empty() ? -1.0 : median_of(std::move(known));
}

double IdleGapSeries::gpu_sm_mhz() const {
  std::vector<double> known;
  for (const auto& s : samples) {
    if (s.gpu_sm_mhz >= 0) known.push_back(s.gpu_sm_mhz);
  }
  return known.empty() ? -1.0 : median_of(std::move(known));
}

Result<IdleGapBenchResult> run_idle_gap_bench(const IdleGapBenchOptions& options) {
  SI_RETURN_IF_ERROR(check(options));
  BackendOptions backend_options;
  backend_options.model = options.model;
  backend_options.threads = options.threads;
  backend_options.input_size = options.input_size;
  backend_options.fp32_kernels = "auto";  // what `run` uses by default
  auto backend = create_backend(backend_options);
  if (!backend) return backend.status();
  InferenceBackend& model = *backend.value();
  const ModelInfo& info = model.info();
  SI_RETURN_IF_ERROR(model.warm_up(options.batch, options.warmup));

  IdleGapBenchResult result;
  result.options = options;
  result.model_description =
      fmt::format("{} at {}x{}, batch {}, {} LibTorch thread(s){}", info.name, info.input_width,
                  info.input_height, options.batch, at::get_num_threads(),
                  info.random_weights ? ", random weights" : "");
  const CpuFrequencyReader cpu_clock;
  const GpuClockSampler gpu_clock;
  result.cpu_clock_source = cpu_clock.describe();
  result.gpu_status = gpu_clock.status();
  result.gpu_sampled = gpu_clock.available();

  const int64_t period_ns = static_cast<int64_t>(options.keep_warm_period_ms * 1e6);
  int64_t unit_ns = 0;
  if (options.keep_warm) {
    std::vector<double> unit_ms;
    for (int i = 0; i < 21; ++i) {
      const int64_t start = now_ns();
      keep_warm_unit();
      unit_ms.push_back(ns_to_ms(now_ns() - start));
    }
    result.keep_warm_unit_ms = median_of(unit_ms);
    unit_ns = static_cast<int64_t>(result.keep_warm_unit_ms * 1e6);
  }

  at::manual_seed(1);
  const torch::Tensor input = torch::rand({options.batch, 3, info.input_height, info.input_width});
  for (int gap : options.gaps_ms) {
    const int64_t gap_ns = static_cast<int64_t>(gap) * 1'000'000;
    for (const auto& variant : variants_of(options)) {
      IdleGapSeries series;
      series.variant = variant;
      series.gap_ms = gap;
      series.samples.reserve(options.iterations);
      int64_t deadline = now_ns();
      for (int i = -options.warmup; i < options.iterations; ++i) {
        if (gap_ns > 0) wait_until(variant, deadline, unit_ns, period_ns);
        // Clocks are read before the forward, outside the timed span: the state it starts in.
        IdleGapSample sample;
        sample.cpu_mhz = cpu_clock.current_core_mhz();
        const GpuClockSample gpu = gpu_clock.sample();
        sample.gpu_sm_mhz = gpu.sm_clock_mhz;
        sample.gpu_pstate = gpu.pstate;
        const int64_t start = now_ns();
        auto output = model.infer(input);
        const int64_t end = now_ns();
        if (!output) return output.status();
        deadline = end + gap_ns;
        if (i < 0) continue;
        sample.latency_ms = ns_to_ms(end - start);
        series.samples.push_back(sample);
      }
      series.change_points = detect_change_points(latencies(series), options.change_points);
      result.series.push_back(std::move(series));
    }
  }
  return result;
}

std::string format_idle_gap_bench(const IdleGapBenchResult& result) {
  const auto& o = result.options;
  std::string out = fmt::format(
      "bench idle-gap: {}; {} iterations per variant and gap after {} paced warm-up one(s)\n",
      result.model_description, o.iterations, o.warmup);
  out += fmt::format("cpu clock: {}\n", result.cpu_clock_source);
  if (o.keep_warm) {
    out +=
        fmt::format("keep-warm: a 32x32 matmul on each LibTorch thread ({:.3f} ms) every {} ms\n",
                    result.keep_warm_unit_ms, o.keep_warm_period_ms);
  }
  const bool gpu = result.gpu_sampled;
  out += fmt::format("{:>6}  {:<10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8}{} {:>5}\n", "gap ms",
                     "variant", "p50 ms", "p99 ms", "mean ms", "p50 / 0", "p99 / 0", "cpu MHz",
                     gpu ? fmt::format(" {:>7}", "SM MHz") : std::string(), "steps");
  std::vector<const IdleGapSeries*> ordered;
  for (const auto& s : result.series) ordered.push_back(&s);
  std::stable_sort(
      ordered.begin(), ordered.end(),
      [](const IdleGapSeries* a, const IdleGapSeries* b) { return a->gap_ms < b->gap_ms; });
  for (const IdleGapSeries* s : ordered) {
    // The baseline is the same variant at the smallest gap run (0 ms by default).
    const IdleGapSeries* base = nullptr;
    for (const IdleGapSeries* c : ordered) {
      if (c->variant == s->variant) {
        base = c;
        break;
      }
    }
    const auto ratio = [](double value, double reference) {
      return reference > 0 ? fmt::format("{:.2f}x", value / reference) : std::string("-");
    };
    const double mhz = s->cpu_mhz();
    out += fmt::format("{:>6}  {:<10} {:>9.2f} {:>9.2f} {:>9.2f} {:>9} {:>9} {:>8}{} {:>5}\n",
                       s->gap_ms, s->variant, s->p50_ms(), s->p99_ms(), s->mean_ms(),
                       ratio(s->p50_ms(), base->p50_ms()), ratio(s->p99_ms(), base->p99_ms()),
                       mhz > 0 ? fmt::format("{:.0f}", mhz) : std::string("-"),
                       gpu ? fmt::format(" {:>7.0f}", s->gpu_sm_mhz()) : std::string(),
                       s->change_points.steps.size());
  }
  out += fmt::format(
      "steps: change points of at least {:.0f}% (L1 optimal partitioning over segment medians, "
      "segments of at least {} iterations)\n",
      100.0 * o.change_points.min_relative_step, o.change_points.min_segment);
  size_t steps = 0;
  for (const auto& s : result.series) {
    const auto& segments = s.change_points.segments;
    for (size_t i = 0; i < s.change_points.steps.size(); ++i, ++steps) {
      const double before = s.cpu_mhz(segments[i].begin, segments[i].end);
      const double after = s.cpu_mhz(segments[i + 1].begin, segments[i + 1].end);
      out += fmt::format(
          "  {}, gap {} ms: {}{}\n", s.variant, s.gap_ms, describe_step(s.change_points.steps[i]),
          before > 0 && after > 0 ? fmt::format("; cpu {:.0f} -> {:.0f} MHz", before, after)
                                  : std::string());
    }
  }
  if (steps == 0) out += "  none: every series kept one level\n";
  if (!gpu) {
    out += fmt::format(
        "GPU variants (CUDA graphs, NVML SM clock and P-state) need a GPU and were skipped: "
        "{}\n",
        result.gpu_status);
  } else {
    out += fmt::format(
        "NVML clocks of {} sampled; CUDA graphs need the CUDA backend and were skipped\n",
        result.gpu_status);
  }
  return out;
}

BenchPlot idle_gap_bench_plot(const IdleGapBenchResult& result) {
  std::vector<int> gaps;
  std::vector<std::string> variants;
  for (const auto& series : result.series) {
    if (std::find(gaps.begin(), gaps.end(), series.gap_ms) == gaps.end()) {
      gaps.push_back(series.gap_ms);
    }
    if (std::find(variants.begin(), variants.end(), series.variant) == variants.end()) {
      variants.push_back(series.variant);
    }
  }
  std::sort(gaps.begin(), gaps.end());
  BenchChart by_gap;
  by_gap.title = "Latency against the idle gap";
  by_gap.hint = "p50 (and p99) of the forward, per pacing variant; gap positions are categories.";
  by_gap.x_label = "idle gap (ms)";
  by_gap.y_label = "ms";
  for (size_t i = 0; i < gaps.size(); ++i) {
    by_gap.x.push_back(static_cast<double>(i));
    by_gap.x_ticks.push_back(std::to_string(gaps[i]));
  }
  for (const auto& variant : variants) {
    BenchSeries p50{variant + " p50", std::vector<double>(gaps.size(), kNoPoint)};
    BenchSeries p99{variant + " p99", std::vector<double>(gaps.size(), kNoPoint)};
    for (const auto& series : result.series) {
      if (series.variant != variant) continue;
      const auto i =
          static_cast<size_t>(std::find(gaps.begin(), gaps.end(), series.gap_ms) - gaps.begin());
      p50.values[i] = series.p50_ms();
      p99.values[i] = series.p99_ms();
    }
    by_gap.series.push_back(p50);
    by_gap.series.push_back(p99);
  }
  BenchPlot plot;
  plot.title = "bench idle-gap";
  plot.charts.push_back(by_gap);
  // One chart per variant: each gap's per-iteration latency, where steps show as level shifts.
  for (const auto& variant : variants) {
    BenchChart iterations;
    iterations.title = "Every iteration: " + variant;
    iterations.hint = "Per-iteration forward latency; one series per gap.";
    iterations.x_label = "iteration";
    iterations.y_label = "ms";
    iterations.points_only = true;
    size_t longest = 0;
    for (const auto& series : result.series) {
      if (series.variant == variant) longest = std::max(longest, series.samples.size());
    }
    for (size_t i = 0; i < longest; ++i) iterations.x.push_back(static_cast<double>(i));
    for (const auto& series : result.series) {
      if (series.variant != variant) continue;
      BenchSeries s{fmt::format("gap {} ms", series.gap_ms),
                    std::vector<double>(longest, kNoPoint)};
      for (size_t i = 0; i < series.samples.size(); ++i) {
        s.values[i] = series.samples[i].latency_ms;
      }
      iterations.series.push_back(s);
    }
    plot.charts.push_back(iterations);
  }
  return plot;
}

Result<std::vector<std::string>> write_idle_gap_csv(const IdleGapBenchResult& result,
                                                    const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return Status::error(fmt::format("bench idle-gap: cannot create '{}': {}", dir, ec.message()));
  }
  const std::string iterations_path = (fs::path(dir) / "idle_gap_iterations.csv").string();
  const std::string summary_path = (fs::path(dir) / "idle_gap_summary.csv").string();
  std::ofstream iterations(iterations_path), summary(summary_path);
  if (!iterations || !summary) {
    return Status::error(fmt::format("bench idle-gap: cannot write in '{}'", dir));
  }
  // Unknown clocks are empty cells: pandas reads them as NaN, not as a -1 MHz reading.
  const auto known = [](double v, const char* format) {
    return v >= 0 ? fmt::format(fmt::runtime(format), v) : std::string();
  };
  iterations << "variant,gap_ms,iteration,latency_ms,cpu_mhz,gpu_sm_mhz,gpu_pstate\n";
  summary << "variant,gap_ms,iterations,p50_ms,p99_ms,mean_ms,steps\n";
  for (const auto& s : result.series) {
    for (size_t i = 0; i < s.samples.size(); ++i) {
      const auto& x = s.samples[i];
      iterations << fmt::format("{},{},{},{:.4f},{},{},{}\n", s.variant, s.gap_ms, i, x.latency_ms,
                                known(x.cpu_mhz, "{:.1f}"), known(x.gpu_sm_mhz, "{:.0f}"),
                                known(x.gpu_pstate, "{:.0f}"));
    }
    summary << fmt::format("{},{},{},{:.4f},{:.4f},{:.4f},{}\n", s.variant, s.gap_ms,
                           s.samples.size(), s.p50_ms(), s.p99_ms(), s.mean_ms(),
                           s.change_points.steps.size());
  }
  iterations.close();
  summary.close();
  if (!iterations || !summary) {
    return Status::error(fmt::format("bench idle-gap: writing in '{}' failed", dir));
  }
  return std::vector<std::string>{iterations_path, summary_path};
}

}  // namespace streaminfer
