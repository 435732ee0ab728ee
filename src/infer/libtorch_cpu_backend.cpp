#include "infer/libtorch_cpu_backend.h"

#include <torch/nn/module.h>
#include <torch/script.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "common/text.h"
#include "infer/bf16_copy.h"
#include "infer/caching_cpu_allocator.h"
#include "infer/calibration_cache.h"
#include "infer/calibration_frames.h"
#include "infer/int8_agreement.h"
#include "infer/model_loading.h"
#include "infer/model_output_check.h"
#include "infer/model_zoo.h"
#include "infer/precision_probe.h"
#include "infer/resnet.h"
#include "infer/resnet_int8.h"
#include "infer/resnet_onednn.h"
#include "infer/weights_file.h"
#include "infer/yolov8.h"
#include "infer/yolov8_from_torchscript.h"
#include "infer/yolov8_int8.h"
#include "infer/yolov8_onednn.h"
#include "source/synthetic_source.h"
#include "train/synthetic_batches.h"

namespace streaminfer {

namespace {

// LibTorch with channels-last (NHWC) activations and weights: a float32 candidate for every model
// LibTorch runs, TorchScript files included (oneDNN's convolutions prefer it; measured 1.04x
// ONNX Runtime's forward against 0.73x frozen NCHW on a TorchScript YOLOv8n,
// bench/results/peers/).
constexpr const char* kLibTorchChannelsLast = "libtorch-nhwc";

// What a forward runs in; under --precision auto each one ready is timed.
enum class Precision { kFp32 = 0, kBf16 = 1, kInt8 = 2 };

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

  // Measures 1, 2 and 4 frames per forward (a requested size alone) and keeps the size with the
  // least time per frame. The float32 kernels that are candidates (LibTorch's and the oneDNN
  // plans', see prepare_fp32_kernels()) are timed the same way, and under --precision auto with
  // an int8 model ready, int8 too, and bf16 where the CPU has bfloat16 instructions of its own
  // (prepare_bf16()): the fastest per frame runs.
  Status choose_micro_batch(const BackendOptions& options) {
    if (options.micro_batch < 0) {
      return Status::error(
          fmt::format("--micro-batch must be 0 (measure) or more (got {})", options.micro_batch));
    }
    const std::vector<int> sizes =
        options.micro_batch > 0 ? std::vector<int>{options.micro_batch} : std::vector<int>{1, 2, 4};
    struct Path {
      Precision precision;
      size_t kernels;  // index into fp32_kernels_ (float32 paths)
      bool fp32() const { return precision == Precision::kFp32; }
    };
    std::vector<Path> paths;
    if (!use_int8_ || auto_) {
      // Explicit kernels (--fp32-kernels other than auto) are the only float32 candidate.
      const size_t first = fp32_kernels_.size() > 1 && !fp32_measured_ ? 1 : 0;
      for (size_t k = first; k < fp32_kernels_.size(); ++k) {
        paths.push_back({Precision::kFp32, k});
      }
    }
    if (bf16_) paths.push_back({Precision::kBf16, 0});
    if (use_int8_ || (auto_ && int8_)) paths.push_back({Precision::kInt8, 0});
    if (sizes.size() == 1 && paths.size() == 1) {
      info_.micro_batch = sizes[0];
      info_.micro_batch_why = "set";
      run_precision(paths[0].precision);
      select_fp32_kernels(paths[0].fp32() ? paths[0].kernels : 0);
      return finish_description();
    }
    // The candidates are timed in turn, round after round, so that a burst of noise from the rest
    // of the machine slows all of them alike instead of deciding the choice; the first round of
    // each shape (allocation, kernel choice, a oneDNN plan's build) is not counted.
    constexpr int kTimedRounds = 5;
    struct Candidate {
      Path path;
      int size;
      torch::Tensor input;
      std::vector<double> ms;
      double per_frame = 0;
    };
    // One random image batch per size (a plan is checked on it against LibTorch's output).
    auto generator = at::detail::createCPUGenerator(/*seed_in=*/20261207);
    std::map<int, torch::Tensor> inputs;
    for (int size : sizes) {
      inputs[size] = torch::rand({size, 3, info_.input_height, info_.input_width}, generator);
    }
    std::vector<Candidate> candidates;
    for (const Path& path : paths) {
      for (int size : sizes) candidates.push_back({path, size, inputs[size], {}, 0});
    }
    // Under --fp32-kernels auto a plan that fails, or differs from LibTorch at a batch size
    // prepare_fp32_kernels() did not check, is left out; LibTorch's candidates run first.
    std::map<int, torch::Tensor> libtorch_output;
    std::set<size_t> dropped;
    for (int round = 0; round <= kTimedRounds; ++round) {
      for (auto& c : candidates) {
        if (c.path.fp32() && dropped.count(c.path.kernels) > 0) continue;
        run_precision(c.path.precision);
        fp32_choice_ = c.path.kernels;
        match_module_layout();  // outside the timed forward
        const auto start = std::chrono::steady_clock::now();
        auto out = checked_forward(c.input);
        const bool measured_plan = fp32_measured_ && c.path.fp32() && c.path.kernels > 0;
        std::string problem = out ? "" : out.status().message();
        if (out && round == 0 && c.path.fp32() && c.path.kernels == 0) {
          libtorch_output[c.size] = out.value();
        } else if (out && round == 0 && measured_plan) {
          problem = kernels_disagreement(libtorch_output.at(c.size), out.value());
        }
        if (!problem.empty() && measured_plan) {
          dropped.insert(c.path.kernels);
          fp32_left_out_ += fmt::format("; {} left out at {} frame(s): {}",
                                        fp32_kernels_[c.path.kernels].name, c.size, problem);
          continue;
        }
        if (!out) return Status::error(fmt::format("--model: {}", out.status().message()));
        if (round > 0) {
          c.ms.push_back(
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                  .count());
        }
      }
    }
    std::erase_if(candidates, [&](const Candidate& c) {
      return c.path.fp32() && dropped.count(c.path.kernels) > 0;
    });
    // The best candidate of each precision, and of each float32 kernels.
    std::array<const Candidate*, 3> best_of{nullptr, nullptr, nullptr};  // by Precision
    std::vector<const Candidate*> best_kernels(fp32_kernels_.size(), nullptr);
    for (auto& c : candidates) {
      std::sort(c.ms.begin(), c.ms.end());
      c.per_frame = c.ms[c.ms.size() / 2] / c.size;
      const Candidate*& best = best_of[static_cast<size_t>(c.path.precision)];
      if (best == nullptr || c.per_frame < best->per_frame) best = &c;
      if (c.path.fp32()) {
        const Candidate*& kernels = best_kernels[c.path.kernels];
        if (kernels == nullptr || c.per_frame < kernels->per_frame) kernels = &c;
      }
    }
    const Candidate* chosen = nullptr;
    for (const Candidate* best : best_of) {
      if (best != nullptr && (chosen == nullptr || best->per_frame < chosen->per_frame)) {
        chosen = best;
      }
    }
    run_precision(chosen->path.precision);
    info_.micro_batch = chosen->size;
    if (sizes.size() == 1) {
      info_.micro_batch_why = "set";
    } else {
      std::vector<std::string> measured;
      for (const auto& c : candidates) {
        if (c.path.precision == chosen->path.precision && c.path.kernels == chosen->path.kernels) {
          measured.push_back(fmt::format("{}: {:.1f} ms/frame", c.size, c.per_frame));
        }
      }
      info_.micro_batch_why = fmt::format("measured at load, median of {} interleaved rounds: {}",
                                          kTimedRounds, fmt::join(measured, ", "));
    }
    if (best_of[0] != nullptr && fp32_measured_ && fp32_kernels_.size() > 1) {
      std::vector<std::string> measured;
      for (size_t k = 0; k < fp32_kernels_.size(); ++k) {
        if (best_kernels[k] == nullptr) continue;  // left out
        measured.push_back(
            fmt::format("{} {:.1f}", fp32_kernels_[k].name, best_kernels[k]->per_frame));
      }
      fp32_kernels_why_ =
          fmt::format("measured at load, ms/frame at the best micro-batch of each: {}{}",
                      fmt::join(measured, ", "), fp32_left_out_);
    }
    select_fp32_kernels(chosen->path.fp32() ? chosen->path.kernels : 0);
    const Candidate *fp32 = best_of[static_cast<size_t>(Precision::kFp32)],
                    *bf16 = best_of[static_cast<size_t>(Precision::kBf16)],
                    *int8 = best_of[static_cast<size_t>(Precision::kInt8)];
    if (fp32 != nullptr && (int8 != nullptr || bf16 != nullptr)) {
      info_.precision_why =
          auto_choice(fp32->per_frame, bf16 ? bf16->per_frame : 0, int8 ? int8->per_frame : 0);
    }
    if (!use_int8_ && int8 != nullptr) {
      int8_.reset();
      info_.calibration.clear();
    }
    if (use_bf16_) {
      info_.precision = fmt::format("bf16 ({})", bf16_isa_);
    } else {
      bf16_.reset();
    }
    return finish_description();
  }

 private:
  void run_precision(Precision precision) {
    use_int8_ = precision == Precision::kInt8;
    use_bf16_ = precision == Precision::kBf16;
  }

  // The model line's why of --precision auto once more than float32 was timed: what ran, each
  // measurement against fp32 (ms/frame at the best micro-batch of each; 0: not timed), and what
  // made the others lose or not run.
  std::string auto_choice(double fp32, double bf16, double int8) const {
    const auto against = [&](const char* name, double ms) {
      return fmt::format(
          "{} measured {:.2f}x fp32 at load ({:.1f} vs {:.1f} ms/frame at the best "
          "micro-batch of each)",
          name, fp32 / ms, ms, fp32);
    };
    std::vector<std::string> parts;
    if (use_int8_) {
      parts.push_back("auto: " + against("int8", int8));
      parts.push_back(int8_verdict_);
    } else if (use_bf16_) {
      parts.push_back("auto: " + against("bf16", bf16));
      parts.push_back(fmt::format("{} ({})",
                                  bf16_compared_ ? "as accurate on held-out frames"
                                                 : "accuracy not compared: no confident output "
                                                   "in the held-out frames",
                                  bf16_note_));
    } else if (int8 > 0) {
      parts.push_back(fmt::format(
          "auto: fp32: int8 measured slower here at load ({:.1f} vs {:.1f} ms/frame at the best "
          "micro-batch of each; a CPU without VNNI runs int8 slowly)",
          int8, fp32));
    } else {
      parts.push_back("auto: fp32");
    }
    // The losers, where the first part did not say them.
    if (use_bf16_ && int8 > 0) parts.push_back(against("int8", int8));
    if (int8 <= 0) parts.push_back(int8_not_);
    if (!use_bf16_) {
      parts.push_back(bf16 > 0 ? fmt::format("{} ({})", against("bf16", bf16), bf16_note_)
                               : bf16_note_);
    }
    std::erase(parts, std::string());
    return fmt::format("{}", fmt::join(parts, "; "));
  }

  static torch::Tensor bf16_forward(BuiltinModel& model, const torch::Tensor& input) {
    return model.forward(input.to(torch::kBFloat16).contiguous(torch::MemoryFormat::ChannelsLast))
        .to(torch::kFloat32)
        .contiguous();
  }

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
      if (use_bf16_ && bf16_) return bf16_forward(*bf16_, input);
      if (fp32_kernels_[fp32_choice_].plan && !(int8_ && use_int8_)) {
        return fp32_kernels_[fp32_choice_].plan->forward(input).contiguous();
      }
      torch::Tensor x = input;
      if (dtype_ != torch::kFloat32) x = x.to(dtype_);
      if (runs_channels_last()) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
      torch::Tensor output;
      if (split_layer_ >= 0) {
        output = split_forward(x);
      } else if (int8_ && use_int8_) {
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
    fp32_kernels_.clear();
    fp32_kernels_.push_back({"libtorch", nullptr});
    fp32_choice_ = 0;
    fp32_measured_ = false;
    fp32_left_out_.clear();
    onednn_plan_.clear();
    if (options.fp32_kernels != "auto" && options.fp32_kernels != "libtorch" &&
        options.fp32_kernels != kLibTorchChannelsLast &&
        options.fp32_kernels != onednn_layout_name(OneDnnLayout::kChannelsLast) &&
        options.fp32_kernels != onednn_layout_name(OneDnnLayout::kBlocked)) {
      return Status::error(fmt::format(
          "--fp32-kernels {}: unknown kernels (auto, libtorch, libtorch-nhwc, onednn-nhwc or "
          "onednn-blocked)",
          options.fp32_kernels));
    }
    fp32_kernels_why_ = options.fp32_kernels == "libtorch" ? "set" : "";
    SI_RETURN_IF_ERROR(choose_precision(options));
    channels_last_ = options.channels_last;
    module_channels_last_ = channels_last_;
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
    SI_RETURN_IF_ERROR(load_torchscript(options));
    return prepare_fp32_kernels(options);
  }

 private:
  Status build(const BackendOptions& options) {
    std::string weights;
    auto loaded = load_builtin_model(options, &info_, &weights);
    if (!loaded) return loaded.status();
    builtin_ = std::move(loaded.value());
    torch::nn::Module& module = *builtin_.module;
    const bool classifier = builtin_.task == ModelTask::kClassify;
    synthetic_classes_ = find_builtin(options.model)->labels == synthetic_class_names();
    if (int8_requested_) SI_RETURN_IF_ERROR(quantize(options));
    // Fused in float32 first, then converted: folding in bfloat16 would round twice. The int8
    // model packed its own weights already; under auto the fp32 one may still run.
    if (dtype_ != torch::kFloat32) module.to(dtype_);
    if (channels_last_ && !(int8_ && use_int8_ && !auto_)) convert_to_channels_last(module);
    const std::string meaningless = classifier ? "scores" : "detections";
    // Written once the precision is settled (choose_micro_batch() times auto's candidates).
    describe_ = [this, options, weights, meaningless, classifier] {
      return fmt::format(
          "{} (built-in C++ {}, {:.2f} M parameters, {}, {}{}{}{}{})", options.model,
          classifier ? "classifier" : "detector", info_.num_parameters / 1e6,
          info_.random_weights
              ? fmt::format("random weights: {} are meaningless until --weights is given",
                            meaningless)
          : options.weights.empty()
              ? fmt::format("weights '{}', {}", weights, find_builtin(options.model)->origin)
              : fmt::format("weights from '{}'", weights),
          info_.precision, options.fuse_bn && builtin_.fuse_batch_norm ? ", BatchNorm fused" : "",
          runs_channels_last() ? ", channels-last" : "",
          fp32_kernels_[fp32_choice_].plan && !(int8_ && use_int8_)
              ? fmt::format(", {} plan: {}", fp32_kernels_[fp32_choice_].name, onednn_plan_)
              : "",
          builtin_.imagenet_normalized ? ", ImageNet mean/std normalization in the model" : "");
    };
    SI_RETURN_IF_ERROR(choose_split(options));
    SI_RETURN_IF_ERROR(
        probe(options, options.input_size > 0 ? options.input_size : builtin_.default_input_size));
    SI_RETURN_IF_ERROR(prepare_fp32_kernels(options));
    prepare_bf16(options);
    if (const BuiltinSpec& spec = *find_builtin(options.model);
        spec.labels.size() == static_cast<size_t>(info_.num_classes)) {
      info_.labels = spec.labels;
    }
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
    describe_ = [this, options, frozen] {
      const bool plan = fp32_kernels_[fp32_choice_].plan != nullptr;
      return fmt::format("{} (TorchScript '{}', {:.2f} M parameters, {} classes, {}{}{}{})",
                         info_.name, options.model, info_.num_parameters / 1e6, info_.num_classes,
                         info_.precision, frozen && !plan ? ", frozen" : "",
                         runs_channels_last() ? ", channels-last" : "",
                         plan ? fmt::format(", {} plan{}: {}", fp32_kernels_[fp32_choice_].name,
                                            plan_architecture_, onednn_plan_)
                              : "");
    };
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
    if (options.precision != "auto" && options.precision != "bf16" && options.precision != "fp16" &&
        options.precision != "int8") {
      return Status::error(fmt::format(
          "--precision {}: unknown precision (auto, fp32, bf16, fp16 or int8)", options.precision));
    }
    auto_ = options.precision == "auto";
    if (auto_) consider_bf16();
    const std::string tried = auto_ ? "int8" : options.precision;
    const PrecisionProbe verdict = probe_precision(tried);
    if (!verdict.available) {
      if (auto_) {
        int8_not_ = fmt::format("int8 cannot run here ({})", verdict.reason);
        info_.precision_why = "auto: fp32: " + int8_not_;
      } else {
        info_.precision_fallback = format_precision_fallback(verdict);
      }
      return Status::ok();
    }
    if (tried == "int8") {
      // Quantized once the model is built (quantize()); until then, and if it cannot be, fp32.
      int8_requested_ = true;
      use_int8_ = !auto_;
      int8_isa_ = verdict.isa_summary();
      return Status::ok();
    }
    dtype_ = options.precision == "bf16" ? torch::kBFloat16 : torch::kFloat16;
    info_.precision = fmt::format("{} ({})", options.precision, verdict.isa_summary());
    return Status::ok();
  }

  // Under auto, bf16 is timed only where the probe ran it on the CPU's own bfloat16 instructions
  // (AVX-512 BF16, AMX); emulated it never beats fp32, and a CPU whose bf16 kernels would die of
  // SIGILL fails the probe in its child process, not here.
  void consider_bf16() {
    const PrecisionProbe bf16 = probe_precision("bf16");
    if (!bf16.available) {
      bf16_note_ = fmt::format("bf16 cannot run here ({})", bf16.reason);
    } else if (!native_bf16(bf16)) {
      bf16_note_ = fmt::format(
          "bf16 not timed: oneDNN ran it without bfloat16 instructions (AVX-512 BF16 or AMX) "
          "here, on {}",
          bf16.conv_impl.empty() ? "kernels its log did not name" : bf16.conv_impl);
    } else {
      bf16_wanted_ = true;
      bf16_isa_ = bf16.isa_summary();
    }
  }

  // The bfloat16 copy of a built-in model (bf16_copy.h), a candidate only when as accurate as
  // fp32 on the held-out synthetic scenes that int8 is checked on: the same agreement bound, and
  // for a detector of the synthetic classes a held-out mAP@0.5 within a point of fp32's.
  void prepare_bf16(const BackendOptions& options) {
    if (split_layer_ >= 0) {
      bf16_note_.clear();  // the precision line says that the split runs float32
      return;
    }
    if (!bf16_wanted_) return;
    // Whatever fails here (building the copy, a forward, memory) leaves bf16 out, not the run.
    try {
      auto copy = make_bf16_copy(options.model, info_.num_classes, builtin_,
                                 options.fuse_bn && static_cast<bool>(builtin_.fuse_batch_norm));
      if (!copy) {
        bf16_note_ = "bf16 left out: " + copy.status().message();
        return;
      }
      auto held_out = render_scenes(held_out_scene_specs(), info_.input_height);
      if (!held_out) {
        bf16_note_ = "bf16 left out: " + held_out.status().message();
        return;
      }
      const auto compared = compare_on_held_out(
          "bf16", [&](const torch::Tensor& part) { return bf16_forward(copy.value(), part); },
          held_out->images, held_out->boxes);
      bf16_compared_ = compared.agreement.value >= 0;
      const bool accurate =
          (!bf16_compared_ || compared.agreement.value >= kMinInt8Agreement) &&
          (!compared.map || compared.map->candidate >= compared.map->reference - 0.01);
      if (!accurate) {
        bf16_note_ = "bf16 left out: not as accurate here: " + compared.line;
        return;
      }
      bf16_note_ = compared.line;
      bf16_ = std::move(copy.value());
    } catch (const std::exception& e) {
      bf16_note_ = "bf16 left out: " + error_reason(e.what());
      bf16_.reset();
    }
  }

  // Post-training int8 (yolov8_int8.h): the ranges measured on the calibration frames
  // (synthetic scenes of calibration seeds, never a camera's or training's, unless
  // --calibration names the user's frames) or read from the calibration cache, then converted.
  // What cannot be quantized runs fp32 with one line that says why.
  Status quantize(const BackendOptions& options) {
    // Checked before building: both int8 models need the BatchNorm folded.
    if (!options.fuse_bn) {
      int8_unsupported("a model whose BatchNorm is not folded (BackendOptions::fuse_bn off)");
      return Status::ok();
    }
    if (!options.split_point.empty()) {
      if (auto_) {
        not_int8("--split-point runs the float32 layers");
        return Status::ok();
      }
      return Status::error(fmt::format(
          "--split-point {} runs the float32 layers; leave out --precision int8 to split",
          options.split_point));
    }
    auto made = make_int8_model();
    if (!made) return made.status();
    if (!made.value()) {
      int8_unsupported(options.model);
      return Status::ok();
    }
    std::unique_ptr<Int8Model> int8 = std::move(made.value());
    const int size = options.input_size > 0 ? options.input_size : builtin_.default_input_size;
    CalibrationRecord record;
    record.model = options.model;
    record.input_size = size;
    record.source_uri = options.calibration_source;
    const bool explicit_cache = !options.calibration_cache.empty();
    // Random weights differ at every start: their ranges are never met again, so not kept (and
    // their fingerprint, a pass over every parameter, not taken).
    if (explicit_cache || !info_.random_weights) {
      record.weights = weights_fingerprint(*builtin_.module);
    }
    const std::string cache_path =
        explicit_cache ? options.calibration_cache
        : info_.random_weights
            ? std::string()
            : default_calibration_cache_path(options.weights, options.model, size, record.weights,
                                             options.calibration_source);
    auto cached = read_cache(cache_path, explicit_cache, record);
    if (!cached) return cached.status();
    if (cached.value()) {
      if (Status used = int8->use_ranges(cached.value()->ranges, cached.value()->frames); used) {
        record = *cached.value();
        info_.calibration = fmt::format("ranges read from '{}' ({}), no calibration forwards",
                                        cache_path, record.source);
      } else if (explicit_cache) {
        return Status::error(
            fmt::format("--calibration-cache '{}': {}; delete it or name another file", cache_path,
                        used.message()));
      } else {
        // The default place holds ranges of another graph (an older streaminfer): measured
        // again and rewritten, on a fresh model.
        cached.value().reset();
        made = make_int8_model();
        if (!made) return made.status();
        int8 = std::move(made.value());
      }
    }
    try {
      torch::Tensor held_out;
      std::vector<std::vector<GroundTruthBox>> held_out_truth;
      if (!cached.value()) {
        auto frames = calibration_frames(options, size);
        if (!frames) return frames.status();
        c10::InferenceMode inference_mode;
        for_each_batch(frames->images, [&](const torch::Tensor& part) { int8->calibrate(part); });
        record.source = frames->description;
        record.frames = int8->calibration_images();
        record.ranges = int8->ranges();
        held_out = frames->held_out;
        held_out_truth = frames->held_out_truth;
        info_.calibration = "calibrated on " + frames->description;
      }
      if (auto converted = int8->convert(); !converted) {
        if (auto_) {
          not_int8(converted.message());
        } else {
          info_.precision_fallback =
              fmt::format("--precision {}; running fp32", converted.message());
          use_int8_ = false;
        }
        info_.calibration.clear();
        return Status::ok();
      }
      if (held_out.defined() && held_out.size(0) > 0) {
        record.agreement = -1;
        const auto compared = compare_on_held_out(
            "int8", [&](const torch::Tensor& part) { return int8->forward(part); }, held_out,
            held_out_truth);
        record.agreement = compared.agreement.value;
        record.comparison = compared.line;
        int8_agreement_ = record.comparison;
      } else {
        int8_agreement_ = !record.comparison.empty() ? "when calibrated: " + record.comparison
                          : record.agreement >= 0
                              ? fmt::format(
                                    "when calibrated, int8 and fp32 agreed on {:.2f} of "
                                    "the held-out candidates",
                                    record.agreement)
                              : "int8 and fp32 not compared";
      }
    } catch (const std::exception& e) {
      return Status::error(fmt::format("--precision {}: int8 calibration of {} failed: {}",
                                       options.precision, options.model, error_reason(e.what())));
    }
    if (!cached.value() && !cache_path.empty()) {
      if (Status saved = save_calibration(cache_path, record); saved) {
        info_.calibration += fmt::format(", ranges saved to '{}'", cache_path);
      } else if (explicit_cache) {
        return Status::error("--calibration-cache: " + saved.message());
      } else {
        info_.calibration += " (not cached: " + saved.message() + ")";
      }
    }
    if (auto_ && record.agreement >= 0 && record.agreement < kMinInt8Agreement) {
      not_int8(fmt::format("int8 is not as accurate here: {} (at least {:.2f} wanted)",
                           int8_agreement_, kMinInt8Agreement));
      info_.calibration.clear();
      return Status::ok();
    }
    info_.calibration += "; " + int8_agreement_;
    int8_verdict_ = record.agreement >= 0
                        ? "as accurate on held-out frames (see the calibration line)"
                        : "accuracy not compared: no confident output in the held-out frames";
    int8_ = std::move(int8);
    int8_description_ = fmt::format("int8 ({}; {})", int8_->describe(), int8_isa_);
    return Status::ok();
  }

  // The int8 form of the built-in model; null when it has none.
  Result<std::unique_ptr<Int8Model>> make_int8_model() {
    if (auto yolo = std::dynamic_pointer_cast<YoloV8Impl>(builtin_.module); yolo) {
      auto made = YoloV8Int8::create(YoloV8(yolo));
      if (!made) return made.status();
      return std::unique_ptr<Int8Model>(std::make_unique<YoloV8Int8>(std::move(made.value())));
    }
    if (auto resnet = std::dynamic_pointer_cast<ResNetImpl>(builtin_.module); resnet) {
      auto made = ResNetInt8::create(ResNet(resnet));
      if (!made) return made.status();
      return std::unique_ptr<Int8Model>(std::make_unique<ResNetInt8>(std::move(made.value())));
    }
    return std::unique_ptr<Int8Model>();
  }

  // Calibration and comparison forwards of at most 8 frames, whatever the frame count.
  template <typename Step>
  static void for_each_batch(const torch::Tensor& images, Step step) {
    constexpr int64_t kBatch = 8;
    for (int64_t start = 0; start < images.size(0); start += kBatch) {
      step(images.narrow(0, start, std::min(kBatch, images.size(0) - start)));
    }
  }

  // fp32 against a reduced precision (int8, bf16) on the held-out frames: the agreement
  // (int8_agreement.h), and one line; with ground truth of the synthetic classes the model was
  // trained on, both mAP@0.5 too.
  struct HeldOutComparison {
    OutputAgreement agreement;
    std::optional<HeldOutMap50> map;
    std::string line;
  };
  template <typename Forward>
  HeldOutComparison compare_on_held_out(const char* name, Forward candidate,
                                        const torch::Tensor& held_out,
                                        const std::vector<std::vector<GroundTruthBox>>& truth) {
    c10::InferenceMode inference_mode;
    std::vector<torch::Tensor> fp32_parts, candidate_parts;
    for_each_batch(held_out, [&](const torch::Tensor& part) {
      fp32_parts.push_back(builtin_.forward(part).to(torch::kFloat32));
      candidate_parts.push_back(candidate(part));
    });
    const auto fp32_out = torch::cat(fp32_parts), candidate_out = torch::cat(candidate_parts);
    HeldOutComparison compared;
    compared.agreement = output_agreement(builtin_.task, fp32_out, candidate_out);
    compared.line = fmt::format("{} and fp32 agree on {} held-out frames: {}", name,
                                held_out.size(0), compared.agreement.description);
    // Synthetic ground truth means something only to a detector of the synthetic classes.
    if (builtin_.task == ModelTask::kDetect && !truth.empty() && synthetic_classes_) {
      compared.map = held_out_map50(fp32_out, candidate_out, truth);
      compared.line += "; " + compared.map->describe(name);
    }
    return compared;
  }

  // The cached record at `path` when it was made for this model, size and weights; nullopt when
  // the ranges are to be measured. An explicit cache made for something else is refused (never
  // overwritten); the default place is measured again and rewritten.
  Result<std::optional<CalibrationRecord>> read_cache(const std::string& path, bool explicit_cache,
                                                      const CalibrationRecord& want) {
    if (path.empty()) return std::optional<CalibrationRecord>{};
    auto loaded = load_calibration(path);
    if (!loaded) {
      if (explicit_cache) return Status::error("--calibration-cache: " + loaded.status().message());
      return std::optional<CalibrationRecord>{};
    }
    if (!loaded.value()) return loaded;
    std::string differs = calibration_mismatch(*loaded.value(), want);
    // Asked to calibrate on a source the cache was not measured on.
    if (differs.empty() && !want.source_uri.empty() &&
        loaded.value()->source_uri != want.source_uri) {
      differs = fmt::format(
          "measured on '{}', not on --calibration '{}'",
          loaded.value()->source_uri.empty() ? "synthetic scenes" : loaded.value()->source_uri,
          want.source_uri);
    }
    if (!differs.empty()) {
      if (explicit_cache) {
        return Status::error(fmt::format(
            "--calibration-cache '{}': {}; delete it or name another file", path, differs));
      }
      return std::optional<CalibrationRecord>{};
    }
    return loaded;
  }

  // Synthetic scenes of seeds no camera, training or other check uses: 32 to calibrate int8 on,
  // 8 held out to compare a reduced precision's output with fp32's.
  static constexpr uint32_t kCalibrationSeed = 600000, kHeldOutSeed = 601000;
  static std::vector<SceneSpec> scene_specs(uint32_t seed, int count) {
    std::vector<SceneSpec> specs;
    for (int i = 0; i < count; ++i)
      specs.push_back({640, 360, 6, seed + static_cast<uint32_t>(i), 0});
    return specs;
  }
  static std::vector<SceneSpec> held_out_scene_specs() { return scene_specs(kHeldOutSeed, 8); }

  Result<CalibrationFrames> calibration_frames(const BackendOptions& options, int size) {
    if (!options.calibration_source.empty()) {
      return read_calibration_frames(options.calibration_source, options.calibration_frames, size);
    }
    constexpr int kCalibrationImages = 32;
    auto calibration = render_scenes(scene_specs(kCalibrationSeed, kCalibrationImages), size);
    if (!calibration) return calibration.status();
    auto held_out = render_scenes(held_out_scene_specs(), size);
    if (!held_out) return held_out.status();
    return CalibrationFrames{calibration->images, held_out->images, held_out->boxes,
                             fmt::format("{} synthetic scenes", kCalibrationImages)};
  }

  void int8_unsupported(const std::string& what) {
    if (!int8_requested_) return;
    if (auto_) {
      not_int8(fmt::format("int8 covers the built-in YOLOv8 detectors and ResNets, not {}", what));
      return;
    }
    info_.precision_fallback = fmt::format(
        "--precision int8: not available for {}; running fp32 (int8 covers the built-in YOLOv8 "
        "detectors and ResNets)",
        what);
    use_int8_ = false;
  }

  // --precision auto settles on fp32 before timing anything.
  void not_int8(const std::string& why) {
    int8_not_ = why;
    info_.precision_why = "auto: fp32: " + why;
    use_int8_ = false;
  }

  // --fp32-kernels set to a oneDNN plan where none can run is an error; under auto, the model
  // line says why LibTorch runs.
  Status no_onednn_plan(const BackendOptions& options, const std::string& why) {
    if (options.fp32_kernels == "auto") {
      fp32_kernels_why_ = why;
      if (fp32_kernels_.size() > 1) fp32_left_out_ += "; no oneDNN plan: " + why;
      return Status::ok();
    }
    if (!options.fp32_kernels.starts_with("onednn")) return Status::ok();
    return Status::error(fmt::format("--fp32-kernels {}: {}", options.fp32_kernels, why));
  }

  // LibTorch channels-last as a candidate (auto) or as asked; float32 forwards only.
  Status prepare_libtorch_channels_last(const BackendOptions& options) {
    const bool named = options.fp32_kernels == kLibTorchChannelsLast;
    if (!named && options.fp32_kernels != "auto") return Status::ok();
    if (int8_ && use_int8_ && !auto_) return Status::ok();  // no float32 forward runs
    if (dtype_ != torch::kFloat32) {
      if (!named) return Status::ok();
      return Status::error(fmt::format("--fp32-kernels {}: float32 forwards only (--precision {})",
                                       kLibTorchChannelsLast, info_.precision));
    }
    if (channels_last_) return Status::ok();  // BackendOptions::channels_last: LibTorch is NHWC
    fp32_kernels_.push_back({kLibTorchChannelsLast, nullptr, true});
    fp32_measured_ = !named;
    if (named) fp32_kernels_why_ = "set";
    return Status::ok();
  }

  bool runs_channels_last() const {
    return channels_last_ || use_bf16_ ||
           (!(int8_ && use_int8_) && fp32_kernels_[fp32_choice_].channels_last &&
            !fp32_kernels_[fp32_choice_].plan);
  }

  // A built-in module's weights in the layout of the LibTorch kernels that run next: channels-last
  // weights with NCHW activations (or the reverse) would make every convolution reorder one of
  // them. TorchScript files are frozen: their weights are graph constants, only the input changes.
  void match_module_layout() {
    if (use_bf16_) return;  // the bf16 copy is channels-last already
    if (fp32_kernels_[fp32_choice_].plan && !(int8_ && use_int8_)) return;  // a plan runs
    const bool wanted = runs_channels_last();
    if (!builtin_.module || wanted == module_channels_last_) return;
    if (wanted) {
      convert_to_channels_last(*builtin_.module);
    } else {
      convert_to_contiguous(*builtin_.module);
    }
    module_channels_last_ = wanted;
  }

  // The float32 YOLOv8 or ResNet on oneDNN directly (yolov8_onednn.h, resnet_onednn.h), in each
  // layout --fp32-kernels allows, as candidates that choose_micro_batch() times against LibTorch.
  // Each plan's output on a random image is compared with LibTorch's first: one that differs by
  // more than float32 rounding is left out (or, asked for by name, refused) and the model line says
  // so.
  Status prepare_fp32_kernels(const BackendOptions& options) {
    if (options.fp32_kernels == "libtorch") return Status::ok();
    SI_RETURN_IF_ERROR(prepare_libtorch_channels_last(options));
    if (options.fp32_kernels == kLibTorchChannelsLast) return Status::ok();
    auto yolo = std::dynamic_pointer_cast<YoloV8Impl>(builtin_.module);
    auto resnet = std::dynamic_pointer_cast<ResNetImpl>(builtin_.module);
    if (builtin_.module && !yolo && !resnet) {
      return no_onednn_plan(options,
                            "the oneDNN plans run the built-in YOLOv8 detectors and ResNets");
    }
    if (dtype_ != torch::kFloat32) return no_onednn_plan(options, "the oneDNN plans are float32");
    const bool fused = options.fuse_bn && (builtin_.fuse_batch_norm || !builtin_.module);
    if (!fused) return no_onednn_plan(options, "the oneDNN plans need BatchNorm fused");
    if (!builtin_.module) {
      // A TorchScript file: the plans run it where it is a built-in YOLOv8 (an Ultralytics
      // export), its output checked against the file's own below.
      auto adopted = yolov8_from_torchscript(options.model);
      if (!adopted) {
        return no_onednn_plan(
            options, fmt::format("the oneDNN plans run the built-in YOLOv8 detectors and ResNets, "
                                 "and the TorchScript file {}",
                                 adopted.status().message()));
      }
      yolo = adopted.value().model.ptr();
      plan_architecture_ = fmt::format(
          " (the file's parameters in the built-in {}, its output "
          "checked against the file's)",
          adopted.value().name);
    }
    if (split_layer_ >= 0) return no_onednn_plan(options, "--split-point runs LibTorch");
    if (int8_ && use_int8_ && !auto_) return Status::ok();  // no float32 forward runs
    const int size = info_.input_height;
    auto generator = at::detail::createCPUGenerator(/*seed_in=*/20261207);
    const torch::Tensor image = torch::rand({1, 3, size, size}, generator);
    const bool int8_was = use_int8_;
    use_int8_ = false;
    auto reference = forward(image);
    use_int8_ = int8_was;
    if (!reference) return Status::error(fmt::format("--model: {}", reference.status().message()));
    const auto create_network = [&](OneDnnLayout layout) -> Result<std::unique_ptr<OneDnnNetwork>> {
      if (yolo) {
        auto network = YoloV8OneDnn::create(YoloV8(yolo), layout);
        if (!network) return network.status();
        return std::unique_ptr<OneDnnNetwork>(std::move(network.value()));
      }
      auto network =
          ResNetOneDnn::create(ResNet(resnet), layout, builtin_.imagenet_normalized,
                               options.onednn_winograd ? Winograd::kWhereFaster : Winograd::kNever);
      if (!network) return network.status();
      return std::unique_ptr<OneDnnNetwork>(std::move(network.value()));
    };
    std::vector<std::string> left_out;
    for (OneDnnLayout layout : {OneDnnLayout::kChannelsLast, OneDnnLayout::kBlocked}) {
      const std::string name = onednn_layout_name(layout);
      if (options.fp32_kernels != "auto" && options.fp32_kernels != name) continue;
      auto plan = create_network(layout);
      std::string problem = plan ? "" : plan.status().message();
      if (plan) {
        try {
          c10::InferenceMode inference_mode;
          problem = kernels_disagreement(reference.value(), plan.value()->forward(image));
        } catch (const std::exception& e) {
          problem = error_reason(e.what());
        }
      }
      if (!problem.empty()) {
        if (options.fp32_kernels != "auto") {
          return Status::error(fmt::format("--fp32-kernels {}: {}", name, problem));
        }
        left_out.push_back(fmt::format("{} left out: {}", name, problem));
        continue;
      }
      fp32_kernels_.push_back({name, std::move(plan.value())});
    }
    fp32_measured_ = options.fp32_kernels == "auto";
    if (!fp32_measured_) fp32_kernels_why_ = "set";
    if (!left_out.empty()) fp32_left_out_ += fmt::format("; {}", fmt::join(left_out, "; "));
    if (fp32_kernels_.size() == 1 && !fp32_left_out_.empty()) {
      fp32_kernels_why_ = fp32_left_out_.substr(2);
    }
    return Status::ok();
  }

  // Empty when a plan's detections are LibTorch's up to float32 rounding: a thousandth of the
  // input size in box coordinates (0.64 px at 640), a thousandth in scores.
  static std::string plan_disagreement(const torch::Tensor& reference, const torch::Tensor& output,
                                       int input_size) {
    if (reference.sizes() != output.sizes()) {
      return fmt::format("output {} where LibTorch's is {}", fmt::join(output.sizes(), "x"),
                         fmt::join(reference.sizes(), "x"));
    }
    const double box =
        (output.slice(1, 0, 4) - reference.slice(1, 0, 4)).abs().max().item<double>();
    const double score = (output.slice(1, 4) - reference.slice(1, 4)).abs().max().item<double>();
    // Written so that NaN fails.
    if (box <= 1e-3 * input_size && score <= 1e-3) return "";
    return fmt::format(
        "its output differs from LibTorch's on a random image by {:.3g} px in boxes and {:.3g} "
        "in scores",
        box, score);
  }

  // plan_disagreement() for a detector; a classifier's logits agree within a thousandth of their
  // largest magnitude (float32 rounding in another summation order).
  std::string kernels_disagreement(const torch::Tensor& reference,
                                   const torch::Tensor& output) const {
    if (info_.task == ModelTask::kDetect) {
      return plan_disagreement(reference, output, info_.input_height);
    }
    if (reference.sizes() != output.sizes()) {
      return fmt::format("output {} where LibTorch's is {}", fmt::join(output.sizes(), "x"),
                         fmt::join(reference.sizes(), "x"));
    }
    const double scale = std::max(1.0, reference.abs().max().item<double>());
    const double worst = (output - reference).abs().max().item<double>();
    if (worst <= 1e-3 * scale) return "";  // written so that NaN fails
    return fmt::format("its logits differ from LibTorch's on a random image by {:.3g}", worst);
  }

  // Runs float32 forwards with fp32_kernels_[index] from now on; the other plans are freed, and
  // the chosen one keeps (and builds now) the plans of 1..micro-batch frames only: the sizes
  // infer() runs.
  void select_fp32_kernels(size_t index) {
    if (index > 0) std::swap(fp32_kernels_[1], fp32_kernels_[index]);
    fp32_kernels_.resize(index > 0 ? 2 : 1);
    fp32_choice_ = index > 0 ? 1 : 0;
    info_.fp32_kernels = fp32_kernels_[fp32_choice_].name;
    info_.fp32_kernels_why = use_int8_ ? "int8 runs" : use_bf16_ ? "bf16 runs" : fp32_kernels_why_;
    match_module_layout();
    if (fp32_kernels_[fp32_choice_].plan) {
      fp32_kernels_[1].plan->keep_batches(std::max(1, info_.micro_batch), info_.input_height,
                                          info_.input_width);
      onednn_plan_ = fp32_kernels_[1].plan->describe();
    }
  }

  Status finish_description() {
    info_.precision = int8_ && use_int8_ ? int8_description_ : info_.precision;
    // Asked for a precision that cannot run: the fp32 that runs says why, as the warning does.
    if (!info_.precision_fallback.empty()) info_.precision_why = info_.precision_fallback;
    if (auto_ && !(int8_ && use_int8_) && info_.precision_why == "asked for") {
      info_.precision_why = "auto: fp32";
    }
    // Only fp32 was timed (int8 could not run): why not bf16 either. (bf16 is for built-in models
    // only, and a split runs float32: nothing to say for those.)
    if (auto_ && builtin_.module && split_layer_ < 0 && !use_int8_ && !use_bf16_ &&
        !bf16_note_.empty() && info_.precision_why.find("bf16") == std::string::npos) {
      info_.precision_why += "; " + bf16_note_;
    }
    if (describe_) info_.description = describe_();
    return Status::ok();
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
  bool auto_ = false;            // --precision auto
  bool use_int8_ = false;        // forwards run int8_ (auto: once timed faster)
  std::string int8_not_;         // auto: why int8 is not a candidate
  // --precision auto's bfloat16 candidate (bf16_copy.h): wanted where the probe found bf16
  // kernels of the CPU's own, built and checked by prepare_bf16(), timed by choose_micro_batch().
  bool bf16_wanted_ = false;
  std::string bf16_isa_;
  std::string bf16_note_;       // its agreement with fp32, or why it is not a candidate
  bool bf16_compared_ = false;  // the held-out frames had confident output to compare
  std::optional<BuiltinModel> bf16_;
  bool use_bf16_ = false;           // forwards run bf16_
  bool synthetic_classes_ = false;  // the model detects the synthetic scenes' classes
  std::string int8_isa_;
  std::string int8_description_;
  std::string int8_agreement_;
  std::string int8_verdict_;
  std::unique_ptr<Int8Model> int8_;
  std::function<std::string()> describe_;
  bool channels_last_ = false;         // BackendOptions::channels_last: every LibTorch forward
  bool module_channels_last_ = false;  // the built-in module's weights are NHWC now
  // Float32 kernels: [0] LibTorch (no plan), then the oneDNN plans that agreed with it; after
  // choose_micro_batch() only LibTorch and the chosen one are kept.
  struct Fp32Kernels {
    std::string name;
    std::unique_ptr<OneDnnNetwork> plan;  // null: LibTorch runs
    bool channels_last = false;           // LibTorch: NHWC activations and weights
  };
  std::vector<Fp32Kernels> fp32_kernels_;
  size_t fp32_choice_ = 0;
  bool fp32_measured_ = false;  // --fp32-kernels auto: the candidates are timed
  std::string fp32_kernels_why_;
  std::string fp32_left_out_;  // "; onednn-blocked left out: ..." for the model line
  std::string onednn_plan_;    // the chosen plan's describe() at the end of the timing
  // A TorchScript file's plans: the built-in architecture they run, for the model line.
  std::string plan_architecture_;
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
