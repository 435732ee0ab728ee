#include "bench/postprocess_experiment.h"

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>
#include <torch/types.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <numeric>

#include "bench/bench_common.h"
#include "bench/naive_postprocess.h"
#include "bench/opencv_postprocess.h"
#include "infer/backend.h"
#include "postprocess/synthetic_yolo_output.h"
#include "streaminfer/clock.h"

namespace streaminfer {
namespace {

using Decoded = std::vector<std::vector<Detection>>;

size_t count_kept(const Decoded& decoded) {
  size_t n = 0;
  for (const auto& frame : decoded) n += frame.size();
  return n;
}

PostprocessBenchVersion time_version(const std::string& id, const std::string& name, int reps,
                                     int batch, const std::function<Decoded()>& decode,
                                     const Decoded& expected) {
  PostprocessBenchVersion version;
  version.id = id;
  version.name = name;
  Decoded last = decode();  // untimed: first-call allocations, caches
  for (int i = 0; i < reps; ++i) {
    const int64_t start = now_ns();
    last = decode();
    version.ms_per_frame.push_back(ns_to_ms(now_ns() - start) / batch);
  }
  version.kept = count_kept(last);
  version.same_boxes = same_detections(last, expected);
  return version;
}

Status check(const PostprocessBenchOptions& o) {
  const auto positive = [](const char* flag, int value) {
    return value > 0 ? Status::ok()
                     : Status::error(fmt::format(
                           "bench postprocess: {} must be at least 1 (got {})", flag, value));
  };
  SI_RETURN_IF_ERROR(positive("--batch", o.batch));
  SI_RETURN_IF_ERROR(positive("--classes", o.classes));
  SI_RETURN_IF_ERROR(positive("--anchors", o.anchors));
  SI_RETURN_IF_ERROR(positive("--reps", o.reps));
  SI_RETURN_IF_ERROR(positive("--naive-reps", o.naive_reps));
  SI_RETURN_IF_ERROR(positive("--threads", o.threads));
  return Status::ok();
}

}  // namespace

double PostprocessBenchVersion::p50_ms() const { return sample_percentile(ms_per_frame, 50); }
double PostprocessBenchVersion::mean_ms() const { return sample_mean(ms_per_frame); }

Result<PostprocessBenchResult> run_postprocess_bench(const PostprocessBenchOptions& options) {
  SI_RETURN_IF_ERROR(check(options));
  at::set_num_threads(options.threads);
  c10::InferenceMode inference_mode;
  PostprocessBenchResult result;
  result.options = options;
  const int batch = options.batch, channels = 4 + options.classes, anchors = options.anchors;
  std::vector<float> output =
      realistic_yolov8_output(batch, options.classes, anchors, options.seed);
  const torch::Tensor tensor = torch::from_blob(output.data(), {batch, channels, anchors});
  const PostprocessOptions& post = options.postprocess;

  const auto vectorized = [&] {
    return decode_yolov8(output.data(), batch, channels, anchors, post);
  };
  const Decoded expected = vectorized();
  result.versions.push_back(time_version(
      "naive", "naive per-anchor loop (LibTorch, .item())", options.naive_reps, batch,
      [&] { return decode_yolov8_naive(tensor, post); }, expected));
  result.versions.push_back(time_version(
      "reference", "per-anchor reference (plain C++)", options.reps, batch,
      [&] { return decode_yolov8_reference(output.data(), batch, channels, anchors, post); },
      expected));
  if (opencv_postprocess_available()) {
    result.versions.push_back(time_version(
        "opencv", "OpenCV minMaxLoc + dnn::NMSBoxes", options.reps, batch,
        [&] { return decode_yolov8_opencv(output.data(), batch, channels, anchors, post); },
        expected));
  } else {
    result.not_run.push_back("OpenCV reference: " + opencv_postprocess_status());
  }
  result.versions.push_back(
      time_version("vectorized", "vectorized (engine)", options.reps, batch, vectorized, expected));

  if (!options.model.empty()) {
    BackendOptions backend_options;
    backend_options.model = options.model;
    backend_options.threads = options.threads;
    backend_options.input_size = options.input_size;
    auto backend = create_backend(backend_options);
    if (!backend) return backend.status();
    SI_RETURN_IF_ERROR(backend.value()->warm_up(batch, 1));
    const auto& info = backend.value()->info();
    result.model_description =
        fmt::format("{} at {}x{}, {:.2f} M parameters{}", info.name, info.input_width,
                    info.input_height, static_cast<double>(info.num_parameters) / 1e6,
                    info.random_weights ? ", random weights" : "");
    const torch::Tensor input = torch::rand({batch, 3, info.input_height, info.input_width});
    for (int i = 0; i < options.forward_reps; ++i) {
      const int64_t start = now_ns();
      auto forward = backend.value()->infer(input);
      if (!forward) return forward.status();
      result.forward_ms_per_frame.push_back(ns_to_ms(now_ns() - start) / batch);
    }
  }
  return result;
}

std::string format_postprocess_bench(const PostprocessBenchResult& result) {
  const auto& o = result.options;
  std::string out = fmt::format(
      "bench postprocess: YOLOv8 output [{}, {}, {}], realistic scores (seed {}), threshold {}, "
      "IoU {}, {} LibTorch thread(s)\n",
      o.batch, 4 + o.classes, o.anchors, o.seed, o.postprocess.score_threshold,
      o.postprocess.iou_threshold, o.threads);
  const double naive_p50 = result.versions.empty() ? 0.0 : result.versions.front().p50_ms();
  out += fmt::format("{:<44} {:>6} {:>13} {:>13} {:>10} {:>6} {:>10}\n", "version", "reps",
                     "p50 ms/frame", "mean ms/frame", "speed-up", "kept", "same boxes");
  for (const auto& v : result.versions) {
    const double p50 = v.p50_ms();
    out += fmt::format("{:<44} {:>6} {:>13.4f} {:>13.4f} {:>9.1f}x {:>6} {:>10}\n", v.name,
                       v.ms_per_frame.size(), p50, v.mean_ms(), p50 > 0 ? naive_p50 / p50 : 0.0,
                       v.kept, v.same_boxes ? "yes" : "NO");
  }
  for (const auto& line : result.not_run) out += "not run: " + line + "\n";
  if (!result.forward_ms_per_frame.empty() && !result.versions.empty()) {
    const double forward = sample_percentile(result.forward_ms_per_frame, 50);
    const double fast = result.versions.back().p50_ms();
    out += fmt::format(
        "model forward ({}): p50 {:.1f} ms/frame over {} run(s); vectorized postprocess is "
        "{:.3f}% of it, the naive loop {:.1f}%\n",
        result.model_description, forward, result.forward_ms_per_frame.size(),
        100.0 * fast / forward, 100.0 * naive_p50 / forward);
  }
  return out;
}

BenchPlot postprocess_bench_plot(const PostprocessBenchResult& result) {
  BenchPlot plot;
  plot.title = "bench postprocess";
  BenchChart per_version;
  per_version.title = "Decode + NMS time per frame";
  per_version.hint = "Log scale: each step down is a factor of ten.";
  per_version.x_label = "version";
  per_version.y_label = "ms per frame";
  per_version.log_y = true;
  BenchSeries p50{"p50", {}}, mean{"mean", {}};
  for (size_t i = 0; i < result.versions.size(); ++i) {
    per_version.x.push_back(static_cast<double>(i));
    per_version.x_ticks.push_back(result.versions[i].id);
    p50.values.push_back(result.versions[i].p50_ms());
    mean.values.push_back(result.versions[i].mean_ms());
  }
  if (!result.forward_ms_per_frame.empty()) {
    const double forward = sample_percentile(result.forward_ms_per_frame, 50);
    per_version.series.push_back(
        {"model forward (p50)", std::vector<double>(per_version.x.size(), forward)});
  }
  per_version.series.insert(per_version.series.begin(), {p50, mean});
  plot.charts.push_back(per_version);

  BenchChart calls;
  calls.title = "Every timed call";
  calls.hint = "Spread between calls of the same version: noise, caches, the scheduler.";
  calls.x_label = "call";
  calls.y_label = "ms per frame";
  calls.log_y = true;
  calls.points_only = true;
  size_t longest = 0;
  for (const auto& v : result.versions) longest = std::max(longest, v.ms_per_frame.size());
  for (size_t i = 0; i < longest; ++i) calls.x.push_back(static_cast<double>(i));
  for (const auto& v : result.versions) {
    BenchSeries s{v.id, std::vector<double>(longest, kNoPoint)};
    std::copy(v.ms_per_frame.begin(), v.ms_per_frame.end(), s.values.begin());
    calls.series.push_back(s);
  }
  plot.charts.push_back(calls);
  return plot;
}

Result<std::vector<std::string>> write_postprocess_bench_csv(const PostprocessBenchResult& result,
                                                             const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return Status::error(
        fmt::format("bench postprocess: cannot create '{}': {}", dir, ec.message()));
  }
  const std::string runs_path = (fs::path(dir) / "postprocess_runs.csv").string();
  const std::string summary_path = (fs::path(dir) / "postprocess_summary.csv").string();
  std::ofstream runs(runs_path), summary(summary_path);
  if (!runs || !summary) {
    return Status::error(fmt::format("bench postprocess: cannot write in '{}'", dir));
  }
  const double naive_p50 = result.versions.empty() ? 0.0 : result.versions.front().p50_ms();
  runs << "version,rep,batch,ms_per_frame\n";
  summary << "version,p50_ms,mean_ms,min_ms,speedup_vs_naive,kept,same_boxes\n";
  for (const auto& v : result.versions) {
    for (size_t i = 0; i < v.ms_per_frame.size(); ++i) {
      runs << fmt::format("{},{},{},{:.6f}\n", v.id, i, result.options.batch, v.ms_per_frame[i]);
    }
    const double p50 = v.p50_ms();
    summary << fmt::format("{},{:.6f},{:.6f},{:.6f},{:.2f},{},{}\n", v.id, p50, v.mean_ms(),
                           *std::min_element(v.ms_per_frame.begin(), v.ms_per_frame.end()),
                           p50 > 0 ? naive_p50 / p50 : 0.0, v.kept, v.same_boxes ? 1 : 0);
  }
  runs.close();
  summary.close();
  if (!runs || !summary) {
    return Status::error(fmt::format("bench postprocess: writing in '{}' failed", dir));
  }
  return std::vector<std::string>{runs_path, summary_path};
}

}  // namespace streaminfer
