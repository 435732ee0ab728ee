#include "infer/model_zoo.h"

#include <torch/nn.h>

#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "infer/resnet.h"
#include "infer/vit.h"
#include "infer/yolov8.h"
#include "source/synthetic_source.h"

namespace streaminfer {

namespace {

template <typename Holder>
BuiltinModel wrap(Holder model, ModelTask task) {
  BuiltinModel built;
  built.module = model.ptr();
  built.task = task;
  if (task == ModelTask::kDetect) {
    built.forward = [model](const torch::Tensor& x) mutable { return model->forward(x); };
  } else {
    built.forward = [model](const torch::Tensor& x) mutable {
      return model->forward(imagenet_normalize(x));
    };
    built.imagenet_normalized = true;
  }
  return built;
}

const std::vector<BuiltinSpec>& builtin_specs() {
  static const std::vector<BuiltinSpec> specs = {
      {"yolov8n-shapes", ModelTask::kDetect, 320, 0, 4, "yolov8n", "yolov8n-shapes-320.pt",
       synthetic_class_names(),
       "trained by `streaminfer train` on the synthetic scenes: see models/README.md"},
      {"yolov8n", ModelTask::kDetect, 640, 0, 80, {}, {}, {}, {}},
      {"yolov8s", ModelTask::kDetect, 640, 0, 80, {}, {}, {}, {}},
      {"resnet18", ModelTask::kClassify, 224, 0, 1000, {}, {}, {}, {}},
      {"resnet50", ModelTask::kClassify, 224, 0, 1000, {}, {}, {}, {}},
      // The position embedding has one row per 16x16 patch of a 224x224 input.
      {"vit_b_16", ModelTask::kClassify, 224, 224, 1000, {}, {}, {}, {}},
  };
  return specs;
}

}  // namespace

const std::vector<std::string>& builtin_model_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> all;
    for (const auto& spec : builtin_specs()) all.push_back(spec.name);
    return all;
  }();
  return names;
}

const BuiltinSpec* find_builtin(const std::string& name) {
  for (const auto& spec : builtin_specs())
    if (spec.name == name) return &spec;
  return nullptr;
}

Result<std::string> find_bundled_weights(const std::string& file) {
  std::vector<std::filesystem::path> folders;
  if (const char* env = std::getenv("STREAMINFER_MODELS_DIR"); env != nullptr && *env != 0) {
    folders.emplace_back(env);
  }
  std::error_code ec;
  const auto executable = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    folders.push_back(executable.parent_path().parent_path() / "share" / "streaminfer" / "models");
    folders.push_back(executable.parent_path().parent_path() / "models");
  }
  folders.emplace_back(STREAMINFER_SOURCE_MODELS_DIR);
  std::vector<std::string> tried;
  for (const auto& folder : folders) {
    const auto path = folder / file;
    if (std::filesystem::is_regular_file(path, ec)) return path.lexically_normal().string();
    tried.push_back(folder.lexically_normal().string());
  }
  return Status::error(fmt::format(
      "bundled weights '{}' not found in {}; set STREAMINFER_MODELS_DIR to the folder that holds "
      "them (the repository's models/)",
      file, fmt::join(tried, ", ")));
}

Result<std::string> weights_to_load(const BuiltinSpec& spec, const std::string& given) {
  if (!given.empty() || spec.bundled_weights.empty()) return given;
  auto bundled = find_bundled_weights(spec.bundled_weights);
  if (!bundled) {
    return Status::error(fmt::format("--model {}: {}", spec.name, bundled.status().message()));
  }
  return bundled;
}

Result<BuiltinModel> make_builtin_model(const std::string& name, int num_classes) {
  const BuiltinSpec* spec = find_builtin(name);
  if (spec == nullptr) {
    return Status::error(fmt::format("--model: unknown built-in model '{}' (built-in: {})", name,
                                     fmt::join(builtin_model_names(), ", ")));
  }
  if (num_classes == 0) num_classes = spec->default_classes;
  if (num_classes < 1) {
    return Status::error(
        fmt::format("--model {}: needs at least one class (got {})", name, num_classes));
  }
  const std::string& architecture = spec->architecture.empty() ? name : spec->architecture;
  BuiltinModel built;
  if (spec->task == ModelTask::kDetect) {
    YoloV8 model(architecture.back(), num_classes);
    built = wrap(model, spec->task);
    built.fuse_batch_norm = [model]() mutable { return model->fuse_batch_norm(); };
  } else if (architecture == "vit_b_16") {
    built = wrap(VisionTransformer(num_classes, spec->default_input_size), spec->task);
  } else {
    ResNet model(architecture == "resnet18" ? 18 : 50, num_classes);
    built = wrap(model, spec->task);
    built.fuse_batch_norm = [model]() mutable { return model->fuse_batch_norm(); };
  }
  built.default_input_size = spec->default_input_size;
  built.fixed_input_size = spec->fixed_input_size;
  return built;
}

torch::Tensor imagenet_normalize(const torch::Tensor& x) {
  // A classifier's input arrives in [0, 1] like every model's (one letterbox for all models); the
  // normalization its weights expect is one multiply-add per pixel, done in the model so that
  // preprocessing stays the same for every model.
  // Built per call (three numbers): a static made under InferenceMode could not join a graph
  // that fine-tuning differentiates.
  const auto options = torch::TensorOptions().dtype(x.scalar_type());
  const auto mean = torch::tensor({0.485f, 0.456f, 0.406f}).view({1, 3, 1, 1}).to(options);
  const auto inv_std =
      (1.0 / torch::tensor({0.229f, 0.224f, 0.225f})).view({1, 3, 1, 1}).to(options);
  return (x - mean) * inv_std;
}

}  // namespace streaminfer
