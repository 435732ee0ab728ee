#include "bench/placement_experiment.h"

#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <algorithm>

#include "profile/cpu_affinity.h"

namespace streaminfer {
namespace {

constexpr const char* kPlacementExperiment = "placement";

Status check(const PlacementBenchOptions& o, int usable_cores) {
  SI_RETURN_IF_ERROR(check_bench_model(kPlacementExperiment, o.model));
  for (int t : o.threads) {
    if (t < 1 || t > 256) {
      return Status::error(
          fmt::format("bench placement: --threads values must be 1..256 (got {})", t));
    }
  }
  if (o.cameras < 1 || o.batch < 1 || o.frames < 1) {
    return Status::error("bench placement: --cameras, --batch and --frames must be at least 1");
  }
  if (usable_cores < 1) return Status::error("bench placement: no usable cores");
  return Status::ok();
}

PlacementBenchRow to_row(const RunStats& s, int threads, const std::string& cores) {
  PlacementBenchRow row;
  row.threads = threads;
  row.cores = cores;
  row.frames = s.total_frames_done();
  row.wall_s = s.wall_seconds;
  row.fps = s.wall_seconds > 0 ? static_cast<double>(row.frames) / s.wall_seconds : 0.0;
  row.inference_p50_ms = s.stage(Stage::kInference).percentile(50);
  row.preprocess_p50_ms = s.stage(Stage::kPreprocess).percentile(50);
  row.e2e_p50_ms = s.stage(Stage::kEndToEnd).percentile(50);
  row.e2e_p99_ms = s.stage(Stage::kEndToEnd).percentile(99);
  row.inference_busy = busy_share(s, Stage::kInference);
  return row;
}

}  // namespace

Result<PlacementBenchResult> run_placement_bench(const PlacementBenchOptions& options) {
  const std::vector<int> all_cores = current_thread_cores();
  SI_RETURN_IF_ERROR(check(options, static_cast<int>(all_cores.size())));
  std::vector<int> threads = options.threads;
  if (threads.empty()) {
    for (int t = 1; t <= static_cast<int>(all_cores.size()); ++t) threads.push_back(t);
  }
  auto backend = create_bench_backend(options.model);
  if (!backend) return backend.status();

  PlacementBenchResult result;
  result.options = options;
  SyntheticRun run;
  run.cameras = options.cameras;
  run.batch = options.batch;
  run.frames = options.frames;
  run.width = options.width;
  run.height = options.height;
  for (int t : threads) {
    at::set_num_threads(t);
    SI_RETURN_IF_ERROR(backend.value()->warm_up(options.batch, options.warmup));
    auto unbound = run_synthetic_cameras(*backend.value(), run);
    if (!unbound) return unbound.status();
    result.rows.push_back(to_row(unbound.value(), t, "unbound"));
    if (!options.core_binding) continue;
    if (t > static_cast<int>(all_cores.size())) {
      result.not_measured.push_back(
          fmt::format("{} threads bound: only {} cores usable", t, all_cores.size()));
      continue;
    }
    const std::vector<int> cores(all_cores.begin(), all_cores.begin() + t);
    SI_RETURN_IF_ERROR(bind_process_to_cores(cores));
    auto bound = run_synthetic_cameras(*backend.value(), run);
    // Unbind before anything else, whatever happened: later rows start from the same state.
    const Status restored = bind_process_to_cores(all_cores);
    if (!bound) return bound.status();
    SI_RETURN_IF_ERROR(restored);
    result.rows.push_back(to_row(bound.value(), t, format_core_list(cores)));
  }
  result.model_description = describe_bench_backend(*backend.value());
  const auto devices = available_devices();
  if (std::find(devices.begin(), devices.end(), "cuda") == devices.end()) {
    result.not_measured.push_back(
        "preprocessing and model on a GPU: this build has no CUDA backend "
        "(-DSTREAMINFER_CUDA=ON on a machine with CUDA LibTorch)");
  }
  return result;
}

std::string format_placement_bench(const PlacementBenchResult& result) {
  const auto& o = result.options;
  std::string out = fmt::format(
      "bench placement: {}, {} synthetic {}x{} cameras, batch {}, {} frames each per row\n",
      result.model_description, o.cameras, o.width, o.height, o.batch, o.frames);
  out += fmt::format("{:<10} {:<6} {:>7} {:<8} {:>7} {:>8} {:>8} {:>12} {:>11} {:>9} {:>9} {:>9}\n",
                     "preprocess", "model", "threads", "cores", "frames", "wall s", "fps",
                     "infer ms/b", "prep ms/f", "p50 ms", "p99 ms", "infer busy");
  for (const auto& r : result.rows) {
    out += fmt::format(
        "{:<10} {:<6} {:>7} {:<8} {:>7} {:>8.2f} {:>8.2f} {:>12.1f} {:>11.2f} {:>9.1f} {:>9.1f} "
        "{:>8.0f}%\n",
        r.preprocess, r.model, r.threads, r.cores, r.frames, r.wall_s, r.fps, r.inference_p50_ms,
        r.preprocess_p50_ms, r.e2e_p50_ms, r.e2e_p99_ms, 100.0 * r.inference_busy);
  }
  const auto best = std::max_element(
      result.rows.begin(), result.rows.end(),
      [](const PlacementBenchRow& a, const PlacementBenchRow& b) { return a.fps < b.fps; });
  if (best != result.rows.end()) {
    out += fmt::format("fastest: {} thread(s), {}, {:.2f} FPS\n", best->threads, best->cores,
                       best->fps);
  }
  for (const auto& line : result.not_measured) out += "not measured: " + line + "\n";
  return out;
}

BenchPlot placement_bench_plot(const PlacementBenchResult& result) {
  std::vector<int> threads;
  for (const auto& r : result.rows) {
    if (std::find(threads.begin(), threads.end(), r.threads) == threads.end()) {
      threads.push_back(r.threads);
    }
  }
  std::sort(threads.begin(), threads.end());
  const auto chart = [&](const std::string& title, const std::string& y_label,
                         double PlacementBenchRow::*field) {
    BenchChart c;
    c.title = title;
    c.x_label = "LibTorch threads";
    c.y_label = y_label;
    for (int t : threads) c.x.push_back(t);
    BenchSeries unbound{"unbound", std::vector<double>(threads.size(), kNoPoint)};
    BenchSeries bound{"bound to as many cores", std::vector<double>(threads.size(), kNoPoint)};
    for (const auto& r : result.rows) {
      const auto i = static_cast<size_t>(std::find(threads.begin(), threads.end(), r.threads) -
                                         threads.begin());
      (r.cores == "unbound" ? unbound : bound).values[i] = r.*field;
    }
    c.series = {unbound, bound};
    return c;
  };
  BenchPlot plot;
  plot.title = "bench placement";
  plot.charts.push_back(chart("Throughput", "frames per second", &PlacementBenchRow::fps));
  plot.charts.push_back(
      chart("Inference per batch, p50", "ms", &PlacementBenchRow::inference_p50_ms));
  return plot;
}

Result<std::string> write_placement_bench_csv(const PlacementBenchResult& result,
                                              const std::string& dir) {
  std::ofstream csv;
  auto path = create_bench_file(kPlacementExperiment, dir, "placement.csv", csv);
  if (!path) return path.status();
  csv << "preprocess,model,threads,cores,frames,wall_s,fps,inference_p50_ms,preprocess_p50_ms,"
         "e2e_p50_ms,e2e_p99_ms,inference_busy\n";
  for (const auto& r : result.rows) {
    std::string cores = r.cores;  // "0-3,6" would split the row
    std::replace(cores.begin(), cores.end(), ',', ' ');
    csv << fmt::format("{},{},{},{},{},{:.4f},{:.4f},{:.3f},{:.4f},{:.3f},{:.3f},{:.4f}\n",
                       r.preprocess, r.model, r.threads, cores, r.frames, r.wall_s, r.fps,
                       r.inference_p50_ms, r.preprocess_p50_ms, r.e2e_p50_ms, r.e2e_p99_ms,
                       r.inference_busy);
  }
  SI_RETURN_IF_ERROR(close_bench_file(kPlacementExperiment, path.value(), csv));
  return path;
}

}  // namespace streaminfer
