#include "infer/libtorch_cpu_backend.h"

#include <torch/script.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "infer/yolov8.h"

namespace streaminfer {

namespace {

std::string first_line(const std::string& text) {
  auto end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
}

std::vector<std::string> labels_for(int num_classes) {
  if (num_classes == static_cast<int>(coco_labels().size())) return coco_labels();
  std::vector<std::string> labels;
  for (int i = 0; i < num_classes; ++i) labels.push_back(fmt::format("class_{}", i));
  return labels;
}

// Takes the detection tensor out of whatever a scripted module returns (a tensor, or a tuple or
// list whose first element is the tensor, as some exports do).
Result<torch::Tensor> detection_tensor(const torch::IValue& value) {
  if (value.isTensor()) return value.toTensor();
  if (value.isTuple() && !value.toTupleRef().elements().empty())
    return detection_tensor(value.toTupleRef().elements()[0]);
  if (value.isList() && value.toListRef().size() > 0) return detection_tensor(value.toListRef()[0]);
  return Status::error(fmt::format("returns a {}, not a tensor", value.tagKind()));
}

class LibTorchCpuBackend : public InferenceBackend {
 public:
  const ModelInfo& info() const override { return info_; }

  Result<torch::Tensor> infer(const torch::Tensor& input) override {
    c10::InferenceMode inference_mode;
    try {
      torch::Tensor output;
      if (builtin_) {
        output = builtin_->forward(input);
      } else {
        auto result = detection_tensor(scripted_.forward({input}));
        if (!result)
          return Status::error(fmt::format("model '{}' {}", info_.name, result.status().message()));
        output = result.value();
      }
      return output.to(torch::kFloat32).contiguous();
    } catch (const std::exception& e) {
      return Status::error(fmt::format("model '{}' failed on input {}: {}", info_.name,
                                       fmt::join(input.sizes(), "x"), first_line(e.what())));
    }
  }

  Status load(const BackendOptions& options) {
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
    return load_torchscript(options);
  }

 private:
  Status build(const BackendOptions& options) {
    const char scale = options.model.back();
    builtin_ = YoloV8(scale, options.num_classes);
    info_.name = options.model;
    if (!options.weights.empty()) {
      SI_RETURN_IF_ERROR(load_weights_from_torchscript(*builtin_, options.weights));
    }
    builtin_->eval();
    info_.random_weights = options.weights.empty();
    info_.num_classes = options.num_classes;
    for (const auto& p : builtin_->parameters()) info_.num_parameters += p.numel();
    info_.description = fmt::format(
        "{} (built-in C++ architecture, {:.2f} M parameters, {})", options.model,
        info_.num_parameters / 1e6,
        info_.random_weights ? "random weights: detections are meaningless until --weights is given"
                             : fmt::format("weights from '{}'", options.weights));
    return probe(options);
  }

  Status load_torchscript(const BackendOptions& options) {
    info_.name = std::filesystem::path(options.model).stem().string();
    try {
      scripted_ = torch::jit::load(options.model, torch::kCPU);
    } catch (const std::exception& e) {
      return Status::error(
          fmt::format("--model: cannot load '{}': not a TorchScript file LibTorch can read ({})",
                      options.model, first_line(e.what())));
    }
    scripted_.eval();
    for (const auto& p : scripted_.parameters()) info_.num_parameters += p.numel();
    SI_RETURN_IF_ERROR(probe(options));
    info_.description =
        fmt::format("{} (TorchScript '{}', {:.2f} M parameters, {} classes)", info_.name,
                    options.model, info_.num_parameters / 1e6, info_.num_classes);
    return Status::ok();
  }

  // One forward at the configured size checks the output layout before any stream starts.
  Status probe(const BackendOptions& options) {
    info_.input_width = info_.input_height = options.input_size;
    auto result = infer(torch::zeros({1, 3, options.input_size, options.input_size}));
    if (!result) return Status::error(fmt::format("--model: {}", result.status().message()));
    const auto& out = result.value();
    if (out.dim() != 3 || out.size(0) != 1 || out.size(1) < 5 || out.size(2) < out.size(1)) {
      return Status::error(fmt::format(
          "--model: '{}' outputs shape [{}] for a [1, 3, {}, {}] input; expected [B, 4+nc, A] "
          "(a YOLOv8 detection head as exported by Ultralytics)",
          options.model, fmt::join(out.sizes(), ", "), options.input_size, options.input_size));
    }
    info_.num_classes = static_cast<int>(out.size(1) - 4);
    info_.num_anchors = out.size(2);
    info_.labels = labels_for(info_.num_classes);
    return Status::ok();
  }

  ModelInfo info_;
  YoloV8 builtin_{nullptr};
  torch::jit::script::Module scripted_;
};

}  // namespace

const std::vector<std::string>& builtin_model_names() {
  static const std::vector<std::string> names = {"yolov8n", "yolov8s"};
  return names;
}

Result<std::unique_ptr<InferenceBackend>> create_libtorch_cpu_backend(
    const BackendOptions& options) {
  const int threads =
      options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency());
  // Debian's LibTorch starts with one thread; set it explicitly every time.
  torch::set_num_threads(std::max(1, threads));
  auto backend = std::make_unique<LibTorchCpuBackend>();
  SI_RETURN_IF_ERROR(backend->load(options));
  return std::unique_ptr<InferenceBackend>(std::move(backend));
}

}  // namespace streaminfer
