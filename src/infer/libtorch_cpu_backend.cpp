#include "infer/libtorch_cpu_backend.h"

#include <torch/nn/module.h>
#include <torch/script.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "common/text.h"
#include "infer/caching_cpu_allocator.h"
#include "infer/model_loading.h"
#include "infer/model_output_check.h"
#include "infer/model_zoo.h"
#include "infer/precision_probe.h"
#include "infer/resnet_int8.h"
#include "infer/weights_file.h"
#include "infer/yolov8.h"
#include "infer/yolov8_int8.h"
#include "train/synthetic_batches.h"

namespace streaminfer {

namespace {

class LibTorchCpuBackend : public InferenceBackend {
 public:
  const ModelInfo& info() const override { return info_; }

  Result<torch::Tensor> infer(const torch::Tensor& input) override {
    const int64_t n = input.size(0);
    if (info_.micro_batch <= 0 || n <= info_.micro_batch) return checked_forward(input);
    std::vector<torch::Tensor> parts;
    for (int64_t start = 0; start < n; start += info_.micro_batch) {
      auto part =
          checked_forward(input.narrow(0, start, std::min<int64_t>(info_.micro_batch, n - start)));
      if (!part) return part.status();
      parts.push_back(std::move(part.value()));
    }
    return torch::cat(parts, 0);
  }

  // Measures 1, 2 and 4 frames per forward (3 timed forwards each, after one untimed) and keeps
  // the size with the least time per frame; a requested size is kept as it is.
  Status choose_micro_batch(const BackendOptions& options) {
    if (options.micro_batch < 0) {
      return Status::error(
          fmt::format("--micro-batch must be 0 (measure) or more (got {})", options.micro_batch));
    }
    if (options.micro_batch > 0) {
      info_.micro_batch = options.micro_batch;
      info_.micro_batch_why = "set";
      return Status::ok();
    }
    // The sizes are timed in turn, round after round, so that a burst of noise from the rest of
    // the machine slows all of them alike instead of deciding the choice; the first round of
    // each shape (allocation, kernel choice) is not counted.
    constexpr std::array<int, 3> kSizes{1, 2, 4};
    constexpr int kTimedRounds = 5;
    std::array<torch::Tensor, kSizes.size()> inputs;
    std::array<std::vector<double>, kSizes.size()> ms;
    for (size_t i = 0; i < kSizes.size(); ++i) {
      inputs[i] = torch::zeros({kSizes[i], 3, info_.input_height, info_.input_width});
    }
    for (int round = 0; round <= kTimedRounds; ++round) {
      for (size_t i = 0; i < kSizes.size(); ++i) {
        const auto start = std::chrono::steady_clock::now();
        auto out = checked_forward(inputs[i]);
        if (!out) return Status::error(fmt::format("--model: {}", out.status().message()));
        if (round > 0) {
          ms[i].push_back(
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                  .count());
        }
      }
    }
    double best = 0;
    std::vector<std::string> measured;
    for (size_t i = 0; i < kSizes.size(); ++i) {
      std::sort(ms[i].begin(), ms[i].end());
      const double per_frame = ms[i][ms[i].size() / 2] / kSizes[i];
      measured.push_back(fmt::format("{}: {:.1f} ms/frame", kSizes[i], per_frame));
      if (best == 0 || per_frame < best) {
        best = per_frame;
        info_.micro_batch = kSizes[i];
      }
    }
    info_.micro_batch_why = fmt::format("measured at load, median of {} interleaved rounds: {}",
                                        kTimedRounds, fmt::join(measured, ", "));
    return Status::ok();
  }

 private:
  // A forward whose output is checked against its batch before anyone indexes it; a size that
  // passed is remembered, so check_batch_sizes() does not run it again.
  Result<torch::Tensor> checked_forward(const torch::Tensor& input) {
    auto output = forward(input);
    if (!output) return output;
    SI_RETURN_IF_ERROR(check_model_output(info_, input.size(0), output.value()));
    mark_batch_size_checked(input.size(0));
    return output;
  }

  Result<torch::Tensor> forward(const torch::Tensor& input) {
    c10::InferenceMode inference_mode;
    try {
      torch::Tensor x = input;
      if (dtype_ != torch::kFloat32) x = x.to(dtype_);
      if (channels_last_) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
      torch::Tensor output;
      if (split_layer_ >= 0) {
        output = split_forward(x);
      } else if (int8_) {
        output = int8_->forward(x);
      } else if (builtin_.module) {
        output = builtin_.forward(x);
      } else {
        auto result = detection_tensor(scripted_.forward({x}));
        if (!result)
          return Status::error(fmt::format("model '{}' {}", info_.name, result.status().message()));
        output = result.value();
      }
      return output.to(torch::kFloat32).contiguous();
    } catch (const std::exception& e) {
      return Status::error(fmt::format("model '{}' failed on input {}: {}", info_.name,
                                       fmt::join(input.sizes(), "x"), error_reason(e.what())));
    }
  }

 public:
  Status load(const BackendOptions& options) {
    SI_RETURN_IF_ERROR(choose_precision(options));
    channels_last_ = options.channels_last;
    const auto& names = builtin_model_names();
    if (std::find(names.begin(), names.end(), options.model) != names.end()) return build(options);
    if (!std::filesystem::exists(options.model)) {
      const bool looks_like_path = options.model.find_first_of("/.") != std::string::npos;
      if (looks_like_path) {
        return Status::error(
            fmt::format("--model: model file '{}' not found (check the path)", options.model));
      }
      return Status::error(
          fmt::format("--model: unknown model '{}' (built-in: {}; or give a TorchScript file path)",
                      options.model, fmt::join(names, ", ")));
    }
    if (!options.split_point.empty()) {
      return Status::error(fmt::format(
          "--split-point {}: only a built-in YOLOv8 detector can be split, not the TorchScript "
          "file '{}'",
          options.split_point, options.model));
    }
    int8_unsupported("a TorchScript file");
    return load_torchscript(options);
  }

 private:
  Status build(const BackendOptions& options) {
    const BuiltinSpec& spec = *find_builtin(options.model);
    std::string weights;
    auto loaded = load_builtin_model(options, &info_, &weights);
    if (!loaded) return loaded.status();
    builtin_ = std::move(loaded.value());
    torch::nn::Module& module = *builtin_.module;
    const bool classifier = builtin_.task == ModelTask::kClassify;
    if (int8_requested_) SI_RETURN_IF_ERROR(quantize(options));
    // Fused in float32 first, then converted: folding in bfloat16 would round twice.
    if (dtype_ != torch::kFloat32) module.to(dtype_);
    if (channels_last_ && !int8_) convert_to_channels_last(module);
    const std::string meaningless = classifier ? "scores" : "detections";
    info_.description = fmt::format(
        "{} (built-in C++ {}, {:.2f} M parameters, {}, {}{}{}{})", options.model,
        classifier ? "classifier" : "detector", info_.num_parameters / 1e6,
        info_.random_weights
            ? fmt::format("random weights: {} are meaningless until --weights is given",
                          meaningless)
        : options.weights.empty() ? fmt::format("weights '{}', {}", weights, spec.origin)
                                  : fmt::format("weights from '{}'", weights),
        info_.precision, options.fuse_bn && builtin_.fuse_batch_norm ? ", BatchNorm fused" : "",
        channels_last_ ? ", channels-last" : "",
        builtin_.imagenet_normalized ? ", ImageNet mean/std normalization in the model" : "");
    SI_RETURN_IF_ERROR(choose_split(options));
    SI_RETURN_IF_ERROR(
        probe(options, options.input_size > 0 ? options.input_size : builtin_.default_input_size));
    if (spec.labels.size() == static_cast<size_t>(info_.num_classes)) info_.labels = spec.labels;
    return Status::ok();
  }

  Status load_torchscript(const BackendOptions& options) {
    info_.name = std::filesystem::path(options.model).stem().string();
    try {
      scripted_ = torch::jit::load(options.model, torch::kCPU);
    } catch (const std::exception& e) {
      return Status::error(
          fmt::format("--model: cannot load '{}': not a TorchScript file LibTorch can read ({})",
                      options.model, error_reason(e.what())));
    }
    scripted_.eval();
    for (const auto& p : scripted_.parameters()) info_.num_parameters += p.numel();
    if (dtype_ != torch::kFloat32) scripted_.to(dtype_);
    bool frozen = false;
    if (options.fuse_bn) {
      // After the dtype change: freezing turns parameters into graph constants that .to() no
      // longer reaches. A module that cannot be frozen (e.g. one that mutates attributes) runs as
      // it is.
      try {
        scripted_ = torch::jit::freeze(scripted_);
        frozen = true;
      } catch (const std::exception&) {
      }
    }
    SI_RETURN_IF_ERROR(probe(options, options.input_size > 0 ? options.input_size : 640));
    info_.description =
        fmt::format("{} (TorchScript '{}', {:.2f} M parameters, {} classes, {}{}{})", info_.name,
                    options.model, info_.num_parameters / 1e6, info_.num_classes, info_.precision,
                    frozen ? ", frozen" : "", channels_last_ ? ", channels-last" : "");
    return Status::ok();
  }

  // One forward at the input size checks the output layout before any stream starts.
  Status probe(const BackendOptions& options, int input_size) {
    info_.input_width = info_.input_height = input_size;
    // Unchecked: this forward is what tells the output's layout.
    auto result = forward(torch::zeros({1, 3, input_size, input_size}));
    if (!result) return Status::error(fmt::format("--model: {}", result.status().message()));
    return read_output_layout(result.value(), options.model, input_size, &info_);
  }

  // Reduced precision only where a probe in a child process ran it (precision_probe.h): a
  // kernel the CPU cannot execute would kill the whole engine with SIGILL, uncatchably.
  Status choose_precision(const BackendOptions& options) {
    info_.precision = "fp32";
    if (options.precision == "fp32") return Status::ok();
    if (options.precision != "bf16" && options.precision != "fp16" && options.precision != "int8") {
      return Status::error(fmt::format(
          "--precision {}: unknown precision (fp32, bf16, fp16 or int8)", options.precision));
    }
    const PrecisionProbe verdict = probe_precision(options.precision);
    if (!verdict.available) {
      info_.precision_fallback = format_precision_fallback(verdict);
      return Status::ok();
    }
    if (options.precision == "int8") {
      // Quantized once the model is built (quantize()); until then, and if it cannot be, fp32.
      int8_requested_ = true;
      int8_isa_ = verdict.isa_summary();
      return Status::ok();
    }
    dtype_ = options.precision == "bf16" ? torch::kBFloat16 : torch::kFloat16;
    info_.precision = fmt::format("{} ({})", options.precision, verdict.isa_summary());
    return Status::ok();
  }

  // Post-training int8 (yolov8_int8.h): calibrated on synthetic scenes of calibration seeds
  // (never a camera's or training's) at the input size, then converted. What cannot be quantized
  // runs fp32 with one line that says why.
  Status quantize(const BackendOptions& options) {
    // Checked before building: both int8 models need the BatchNorm folded.
    if (!options.fuse_bn) {
      int8_unsupported("a model whose BatchNorm is not folded (BackendOptions::fuse_bn off)");
      return Status::ok();
    }
    if (!options.split_point.empty()) {
      return Status::error(fmt::format(
          "--split-point {} runs the float32 layers; leave out --precision int8 to split",
          options.split_point));
    }
    std::unique_ptr<Int8Model> int8;
    if (auto yolo = std::dynamic_pointer_cast<YoloV8Impl>(builtin_.module); yolo) {
      auto made = YoloV8Int8::create(YoloV8(yolo));
      if (!made) return made.status();
      int8 = std::make_unique<YoloV8Int8>(std::move(made.value()));
    } else if (auto resnet = std::dynamic_pointer_cast<ResNetImpl>(builtin_.module); resnet) {
      auto made = ResNetInt8::create(ResNet(resnet));
      if (!made) return made.status();
      int8 = std::make_unique<ResNetInt8>(std::move(made.value()));
    } else {
      int8_unsupported(options.model);
      return Status::ok();
    }
    const int size = options.input_size > 0 ? options.input_size : builtin_.default_input_size;
    constexpr uint32_t kCalibrationSeed = 600000;
    constexpr int kCalibrationImages = 32, kCalibrationBatch = 8;
    for (int start = 0; start < kCalibrationImages; start += kCalibrationBatch) {
      std::vector<SceneSpec> scenes;
      for (int i = start; i < start + kCalibrationBatch; ++i) {
        scenes.push_back({640, 360, 6, kCalibrationSeed + static_cast<uint32_t>(i), 0});
      }
      auto batch = render_scenes(scenes, size);
      if (!batch) return batch.status();
      c10::InferenceMode inference_mode;
      int8->calibrate(batch->images);
    }
    if (auto converted = int8->convert(); !converted) {
      info_.precision_fallback = fmt::format("--precision {}; running fp32", converted.message());
      return Status::ok();
    }
    int8_ = std::move(int8);
    info_.precision = fmt::format("int8 ({}; {})", int8_->describe(), int8_isa_);
    return Status::ok();
  }

  void int8_unsupported(const std::string& what) {
    if (!int8_requested_) return;
    info_.precision_fallback = fmt::format(
        "--precision int8: not available for {}; running fp32 (int8 covers the built-in YOLOv8 "
        "detectors and ResNets)",
        what);
  }

  // --split-point: layers 0..split_layer_, the hand-over, then the rest; each part timed.
  Status choose_split(const BackendOptions& options) {
    if (options.split_point.empty()) return Status::ok();
    auto yolo = std::dynamic_pointer_cast<YoloV8Impl>(builtin_.module);
    const std::string prefix = "model.";
    int layer = -1;
    if (options.split_point.rfind(prefix, 0) == 0) {
      const std::string number = options.split_point.substr(prefix.size());
      if (!number.empty() && number.size() <= 2 &&
          number.find_first_not_of("0123456789") == std::string::npos) {
        layer = std::stoi(number);
      }
    }
    if (!yolo || layer < 0 || layer > YoloV8Impl::kLastSplitLayer) {
      return Status::error(fmt::format(
          "--split-point {}: a built-in YOLOv8 detector splits after one of its layers model.0 .. "
          "model.{} (model.9 ends the backbone){}",
          options.split_point, YoloV8Impl::kLastSplitLayer,
          yolo ? "" : fmt::format("; '{}' cannot be split", options.model)));
    }
    split_yolo_ = yolo;
    split_layer_ = layer;
    split_name_ = options.split_point;
    return Status::ok();
  }

  torch::Tensor split_forward(const torch::Tensor& x) {
    using Clock = std::chrono::steady_clock;
    const auto ms = [](Clock::time_point a, Clock::time_point b) {
      return std::chrono::duration<double, std::milli>(b - a).count();
    };
    const auto start = Clock::now();
    auto kept = split_yolo_->run_to(x, split_layer_);
    const auto first_done = Clock::now();
    // The hand-over: every tensor the second part reads is copied, as it would be to the second
    // part's device. (Both parts run on this CPU backend's device.)
    int64_t bytes = 0;
    for (auto& [layer, tensor] : kept) {
      tensor = tensor.clone();
      bytes += static_cast<int64_t>(tensor.nbytes());
    }
    const auto handed_over = Clock::now();
    auto output = split_yolo_->run_from(std::move(kept), split_layer_ + 1);
    const auto done = Clock::now();
    split_ms_[0].push_back(ms(start, first_done));
    split_ms_[1].push_back(ms(first_done, handed_over));
    split_ms_[2].push_back(ms(handed_over, done));
    split_bytes_ += bytes;
    return output;
  }

 public:
  std::string end_of_run_report() const override {
    if (split_layer_ < 0 || split_ms_[0].empty()) return {};
    const auto describe = [](std::vector<double> values) {
      std::sort(values.begin(), values.end());
      double sum = 0;
      for (double v : values) sum += v;
      const auto at = [&](double q) {
        return values[std::min(values.size() - 1, static_cast<size_t>(q * values.size()))];
      };
      return fmt::format("mean {:.2f} ms, p50 {:.2f}, p99 {:.2f}", sum / values.size(), at(0.5),
                         at(0.99));
    };
    const size_t calls = split_ms_[0].size();
    return fmt::format(
        "split at {} (experimental), {} forward(s): part 1 (layers 0-{}, cpu) {}; hand-over "
        "({:.2f} "
        "MB a forward, copied cpu -> cpu) {}; part 2 (layers {}-22, cpu) {}\n",
        split_name_, calls, split_layer_, describe(split_ms_[0]),
        static_cast<double>(split_bytes_) / calls / (1 << 20), describe(split_ms_[1]),
        split_layer_ + 1, describe(split_ms_[2]));
  }
  void reset_report() override {
    for (auto& part : split_ms_) part.clear();
    split_bytes_ = 0;
  }

 private:
  ModelInfo info_;
  torch::ScalarType dtype_ = torch::kFloat32;
  bool int8_requested_ = false;  // and the probe ran it
  std::string int8_isa_;
  std::unique_ptr<Int8Model> int8_;
  bool channels_last_ = false;
  BuiltinModel builtin_;  // module null: a TorchScript file runs
  torch::jit::script::Module scripted_;
  std::shared_ptr<YoloV8Impl> split_yolo_;
  int split_layer_ = -1;
  std::string split_name_;
  std::array<std::vector<double>, 3> split_ms_;  // part 1, hand-over, part 2; one per forward
  int64_t split_bytes_ = 0;
};

}  // namespace

Result<std::unique_ptr<InferenceBackend>> create_libtorch_cpu_backend(
    const BackendOptions& options) {
  const int threads =
      options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency());
  // Debian's LibTorch starts with one thread; set it explicitly every time.
  at::set_num_threads(std::max(1, threads));
  install_caching_cpu_allocator(static_cast<size_t>(std::max(0, options.tensor_cache_mb)) << 20);
  auto backend = std::make_unique<LibTorchCpuBackend>();
  SI_RETURN_IF_ERROR(backend->load(options));
  SI_RETURN_IF_ERROR(backend->choose_micro_batch(options));
  return std::unique_ptr<InferenceBackend>(std::move(backend));
}

}  // namespace streaminfer
