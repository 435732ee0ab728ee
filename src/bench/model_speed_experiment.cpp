#include "bench/model_speed_experiment.h"

#include <fmt/format.h>
#include <torch/types.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <thread>

#include "infer/backend.h"
#include "infer/precision_probe.h"
#include "source/synthetic_source.h"
#include "streaminfer/clock.h"
#include "train/detector_validation.h"

namespace streaminfer {
namespace {

Status check(const ModelSpeedOptions& o) {
  const auto at_least = [](const char* flag, int value, int low) {
    return value >= low ? Status::ok()
                        : Status::error(fmt::format("bench model: {} must be at least {} (got {})",
                                                    flag, low, value));
  };
  SI_RETURN_IF_ERROR(at_least("--batch", o.batch, 1));
  SI_RETURN_IF_ERROR(at_least("--reps", o.reps, 1));
  SI_RETURN_IF_ERROR(at_least("--warmup", o.warmup, 0));
  SI_RETURN_IF_ERROR(at_least("--threads", o.threads, 0));
  for (const auto& step : o.steps) {
    const auto ids = model_speed_step_ids();
    if (std::find(ids.begin(), ids.end(), step) == ids.end()) {
      return Status::error(fmt::format("bench model: --steps {}: unknown step (one of {})", step,
                                       fmt::join(ids, ", ")));
    }
  }
  if (o.input_size < 32 || o.input_size % 32 != 0) {
    return Status::error(
        fmt::format("bench model: --imgsz must be a multiple of 32 (got {})", o.input_size));
  }
  return Status::ok();
}

double percentile_50(std::vector<double> values) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

struct StepConfig {
  const char* id;
  const char* name;
  bool fuse_bn;
  bool channels_last;
  const char* precision;
  const char* fp32_kernels;
  bool winograd = true;
};

constexpr StepConfig kStepConfigs[] = {
    {"eager", "eager fp32", false, false, "fp32", "libtorch"},
    {"fused_bn", "+ fused BatchNorm", true, false, "fp32", "libtorch"},
    {"channels_last", "+ channels-last", true, true, "fp32", "libtorch"},
    {"onednn_nhwc", "oneDNN plan, channels-last", true, false, "fp32", "onednn-nhwc"},
    {"onednn_blocked", "oneDNN plan, blocked", true, false, "fp32", "onednn-blocked"},
    {"onednn_blocked_direct", "oneDNN plan, blocked, no Winograd", true, false, "fp32",
     "onednn-blocked", false},
    {"bf16", "+ bf16", true, true, "bf16", "libtorch"},
    {"int8", "int8 (fused BN)", true, false, "int8", "libtorch"},
};

// mAP of the backend's detections on held-out synthetic scenes (the cameras of seeds 7, 8 and 9,
// never trained or calibrated on), with COCO's low score threshold.
Result<AccuracyResult> held_out_accuracy(InferenceBackend& backend, const ModelSpeedOptions& o) {
  std::vector<SceneSpec> scenes;
  for (int i = 0; i < o.accuracy_scenes; ++i) {
    scenes.push_back({640, 360, 6, static_cast<uint32_t>(7 + i % 3), int64_t{15} * i});
  }
  const auto forward = [&](const torch::Tensor& x) {
    auto out = backend.infer(x);
    if (!out) throw std::runtime_error(out.status().message());
    return out.value();
  };
  try {
    return validate_detector(forward, backend.info().num_classes, scenes, o.input_size, o.batch);
  } catch (const std::exception& e) {
    return Status::error(fmt::format("bench model: accuracy forward failed: {}", e.what()));
  }
}

// Builds the step's backend from the same seed (identical random weights), times it and compares
// its output with eager's. `eager_output` is filled by the first step.
Result<ModelSpeedStep> time_step(const ModelSpeedOptions& o, const StepConfig& config,
                                 const torch::Tensor& input, torch::Tensor& eager_output,
                                 std::string& description, bool& random_weights) {
  ModelSpeedStep step;
  step.id = config.id;
  step.name = config.name;
  BackendOptions b;
  b.model = o.model;
  b.weights = o.weights;
  b.input_size = o.input_size;
  b.threads = o.threads;
  b.fuse_bn = config.fuse_bn;
  b.channels_last = config.channels_last;
  b.precision = config.precision;
  b.fp32_kernels = config.fp32_kernels;
  b.onednn_winograd = config.winograd;
  b.micro_batch = o.batch;  // the forward at this batch size, never split
  at::manual_seed(0);
  auto backend = create_backend(b);
  if (!backend) return backend.status();
  if (description.empty()) {
    description = backend.value()->info().description;
    random_weights = backend.value()->info().random_weights;
  }
  for (int i = 0; i < o.warmup; ++i) {
    auto out = backend.value()->infer(input);
    if (!out) return out.status();
  }
  torch::Tensor output;
  for (int i = 0; i < o.reps; ++i) {
    const int64_t start = now_ns();
    auto out = backend.value()->infer(input);
    if (!out) return out.status();
    step.ms_per_batch.push_back(ns_to_ms(now_ns() - start));
    output = out.value();
  }
  step.available = true;
  const ModelInfo& info = backend.value()->info();
  step.precision = info.precision.substr(0, info.precision.find(' '));
  if (!info.precision_fallback.empty()) step.note = info.precision_fallback;
  if (o.accuracy_scenes > 0 && info.task == ModelTask::kDetect && !info.random_weights &&
      info.labels == synthetic_class_names()) {
    auto accuracy = held_out_accuracy(*backend.value(), o);
    if (!accuracy) return accuracy.status();
    step.map50 = accuracy->map50;
    step.map50_95 = accuracy->map50_95;
  }
  if (!eager_output.defined()) {
    eager_output = output;
  } else {
    step.max_score_diff =
        (output.slice(1, 4) - eager_output.slice(1, 4)).abs().max().item<double>();
    step.max_box_diff_px =
        (output.slice(1, 0, 4) - eager_output.slice(1, 0, 4)).abs().max().item<double>();
  }
  return step;
}

std::string csv_safe(std::string text) {
  std::replace(text.begin(), text.end(), ',', ';');
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

// Speed-up of each step over the previous timed one and over eager (1.0 for eager itself, 0 for
// steps that did not run).
std::vector<std::pair<double, double>> gains(const std::vector<ModelSpeedStep>& steps) {
  std::vector<std::pair<double, double>> out;
  double previous = 0, eager = 0;
  for (const auto& s : steps) {
    if (!s.available) {
      out.emplace_back(0.0, 0.0);
      continue;
    }
    const double p50 = s.p50_ms();
    if (eager == 0) eager = p50;
    out.emplace_back(previous > 0 && p50 > 0 ? previous / p50 : 1.0, p50 > 0 ? eager / p50 : 0.0);
    previous = p50;
  }
  return out;
}

}  // namespace

std::vector<std::string> model_speed_step_ids() {
  std::vector<std::string> ids;
  for (const auto& config : kStepConfigs) ids.emplace_back(config.id);
  return ids;
}

double ModelSpeedStep::p50_ms() const { return percentile_50(ms_per_batch); }
double ModelSpeedStep::mean_ms() const {
  if (ms_per_batch.empty()) return 0.0;
  return std::accumulate(ms_per_batch.begin(), ms_per_batch.end(), 0.0) /
         static_cast<double>(ms_per_batch.size());
}
double ModelSpeedStep::min_ms() const {
  return ms_per_batch.empty() ? 0.0 : *std::min_element(ms_per_batch.begin(), ms_per_batch.end());
}

Result<ModelSpeedResult> run_model_speed_bench(const ModelSpeedOptions& options) {
  SI_RETURN_IF_ERROR(check(options));
  ModelSpeedResult result;
  result.options = options;
  result.threads =
      options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency());
  // The oneDNN ISA and kernels of the float32 rows, from the same child-process probe as bf16.
  const PrecisionProbe fp32 = probe_precision("fp32");
  const PrecisionProbe bf16 = probe_precision("bf16");
  const PrecisionProbe int8 = probe_precision("int8");

  at::manual_seed(1);
  const torch::Tensor input =
      torch::rand({options.batch, 3, options.input_size, options.input_size});
  torch::Tensor eager_output;
  for (const auto& config : kStepConfigs) {
    if (!options.steps.empty() &&
        std::find(options.steps.begin(), options.steps.end(), config.id) == options.steps.end()) {
      continue;
    }
    const std::string precision = config.precision;
    const PrecisionProbe& probe = precision == "bf16" ? bf16 : precision == "int8" ? int8 : fp32;
    // float32 always runs; its probe only tells which ISA oneDNN picked.
    if (precision != "fp32" && !probe.available) {
      ModelSpeedStep step;
      step.id = config.id;
      step.name = config.name;
      step.note = "unavailable: " + probe.reason;
      step.onednn = probe.isa_summary();
      result.steps.push_back(std::move(step));
      continue;
    }
    auto step = time_step(options, config, input, eager_output, result.model_description,
                          result.random_weights);
    // A oneDNN plan covers the built-in YOLOv8s and ResNets (and a TorchScript file with a
    // built-in YOLOv8's parameters): for another model its row says why not.
    if (!step && std::string(config.fp32_kernels).starts_with("onednn")) {
      ModelSpeedStep unavailable;
      unavailable.id = config.id;
      unavailable.name = config.name;
      unavailable.note = "unavailable: " + step.status().message();
      result.steps.push_back(std::move(unavailable));
      continue;
    }
    if (!step) return step.status();
    step.value().onednn = probe.isa_summary();
    result.steps.push_back(std::move(step.value()));
  }
  return result;
}

// One line per reduced precision that ran: its speed against the fastest float32 step of this
// run, and its mAP against that step's (where the model has synthetic ground truth).
std::string reduced_precision_summary(const ModelSpeedResult& result) {
  const ModelSpeedStep* best_fp32 = nullptr;
  for (const auto& s : result.steps) {
    if (s.available && s.precision == "fp32" && (!best_fp32 || s.p50_ms() < best_fp32->p50_ms()))
      best_fp32 = &s;
  }
  std::string out;
  if (best_fp32 == nullptr) return out;
  for (const auto& s : result.steps) {
    if (!s.available || s.precision == "fp32" || s.p50_ms() <= 0) continue;
    out += fmt::format("{}: {:.2f}x the throughput of the fastest fp32 step ({})", s.name,
                       best_fp32->p50_ms() / s.p50_ms(), best_fp32->name);
    if (s.map50 >= 0 && best_fp32->map50 >= 0) {
      out += fmt::format(
          "; mAP@0.5 {:.3f} against {:.3f} ({:+.1f} points), mAP@0.5:0.95 {:.3f} "
          "against {:.3f}",
          s.map50, best_fp32->map50, 100 * (s.map50 - best_fp32->map50), s.map50_95,
          best_fp32->map50_95);
    }
    out += "\n";
  }
  return out;
}

std::string format_model_speed_bench(const ModelSpeedResult& result) {
  const auto& o = result.options;
  std::string out = fmt::format(
      "bench model: {} forward only, input {}x{}, batch {}, {} LibTorch thread(s), {} timed "
      "forwards per step after {} warm-up\n",
      o.model, o.input_size, o.input_size, o.batch, result.threads, o.reps, o.warmup);
  if (!result.model_description.empty()) out += "model: " + result.model_description + "\n";
  const auto first = std::find_if(result.steps.begin(), result.steps.end(),
                                  [](const ModelSpeedStep& s) { return s.available; });
  if (first != result.steps.end() && first->id != "eager") {
    out += fmt::format("(--steps without eager: \"vs eager\" and the differences are against {})\n",
                       first->name);
  }
  out += fmt::format("{:<20} {:>12} {:>13} {:>9} {:>11} {:>9} {:>11} {:>11} {:>8} {:>8}\n", "step",
                     "p50 ms/batch", "mean ms/batch", "images/s", "vs previous", "vs eager",
                     "max dscore", "max dbox px", "mAP@0.5", "mAP@.5:.95");
  const auto gain = gains(result.steps);
  for (size_t i = 0; i < result.steps.size(); ++i) {
    const auto& s = result.steps[i];
    if (!s.available) {
      out += fmt::format("{:<20} {}\n", s.name, s.note);
      continue;
    }
    const double p50 = s.p50_ms();
    const auto map = [](double v) { return v < 0 ? std::string("-") : fmt::format("{:.3f}", v); };
    out += fmt::format(
        "{:<20} {:>12.1f} {:>13.1f} {:>9.1f} {:>10.2f}x {:>8.2f}x {:>11.5f} {:>11.3f} {:>8} "
        "{:>8}\n",
        s.name, p50, s.mean_ms(), p50 > 0 ? 1000.0 * o.batch / p50 : 0.0, gain[i].first,
        gain[i].second, s.max_score_diff, s.max_box_diff_px, map(s.map50), map(s.map50_95));
    if (!s.note.empty()) out += fmt::format("{:<20} {}\n", "", s.note);
  }
  out += reduced_precision_summary(result);
  if (result.random_weights) {
    out +=
        "accuracy columns: with random weights the head's outputs are mostly its bias prior, "
        "so differences look small; give --weights for a meaningful accuracy cost\n";
  }
  // One line per distinct oneDNN report (fp32 rows share one, bf16 may differ).
  std::vector<std::string> seen;
  for (const auto& s : result.steps) {
    if (s.onednn.empty() || std::find(seen.begin(), seen.end(), s.onednn) != seen.end()) continue;
    seen.push_back(s.onednn);
    out += fmt::format("oneDNN for the {} rows (child-process probe): {}\n",
                       s.id == "bf16" || s.id == "int8" ? s.id : "fp32", s.onednn);
  }
  return out;
}

BenchPlot model_speed_bench_plot(const ModelSpeedResult& result) {
  BenchChart speed;
  speed.title = "Forward throughput, one optimization added per step";
  speed.hint = fmt::format("{} images per forward; steps that could not run have no point.",
                           result.options.batch);
  speed.x_label = "step";
  speed.y_label = "images per second";
  BenchSeries images{"images/s (from p50)", {}};
  BenchSeries gain{"speed-up over eager", {}};
  double eager_ms = 0;
  for (size_t i = 0; i < result.steps.size(); ++i) {
    const auto& step = result.steps[i];
    speed.x.push_back(static_cast<double>(i));
    speed.x_ticks.push_back(step.id);
    const double ms = step.available ? step.p50_ms() : 0.0;
    if (step.id == "eager") eager_ms = ms;
    images.values.push_back(ms > 0 ? result.options.batch * 1000.0 / ms : kNoPoint);
    gain.values.push_back(ms > 0 && eager_ms > 0 ? eager_ms / ms : kNoPoint);
  }
  speed.series = {images};
  BenchChart ratio = speed;
  ratio.title = "Speed-up over eager fp32";
  ratio.y_label = "x eager";
  ratio.series = {gain};
  BenchPlot plot;
  plot.title = "bench model";
  plot.charts = {speed, ratio};
  return plot;
}

Result<std::string> write_model_speed_bench_csv(const ModelSpeedResult& result,
                                                const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return Status::error(fmt::format("bench model: cannot create '{}': {}", dir, ec.message()));
  const std::string path = (fs::path(dir) / "model_speed.csv").string();
  std::ofstream csv(path);
  if (!csv) return Status::error(fmt::format("bench model: cannot write '{}'", path));
  const auto& o = result.options;
  csv << "step,available,batch,imgsz,threads,reps,p50_ms,mean_ms,min_ms,images_per_s,"
         "gain_vs_previous,gain_vs_eager,max_score_diff,max_box_diff_px,map50,map50_95,onednn,"
         "note\n";
  const auto gain = gains(result.steps);
  for (size_t i = 0; i < result.steps.size(); ++i) {
    const auto& s = result.steps[i];
    const double p50 = s.p50_ms();
    csv << fmt::format(
        "{},{},{},{},{},{},{:.3f},{:.3f},{:.3f},{:.2f},{:.3f},{:.3f},{:.6f},{:.4f},{},{},{},{}\n",
        s.id, s.available ? 1 : 0, o.batch, o.input_size, result.threads, s.ms_per_batch.size(),
        p50, s.mean_ms(), s.min_ms(), p50 > 0 ? 1000.0 * o.batch / p50 : 0.0, gain[i].first,
        gain[i].second, s.max_score_diff, s.max_box_diff_px,
        s.map50 < 0 ? std::string() : fmt::format("{:.4f}", s.map50),
        s.map50_95 < 0 ? std::string() : fmt::format("{:.4f}", s.map50_95), csv_safe(s.onednn),
        csv_safe(s.note));
  }
  csv.close();
  if (!csv) return Status::error(fmt::format("bench model: writing '{}' failed", path));
  return path;
}

}  // namespace streaminfer
