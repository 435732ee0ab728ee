#pragma once
// The built-in architectures, selectable by name (--model): two YOLOv8 detectors and three
// ImageNet classifiers, each written with LibTorch's C++ modules under its reference
// implementation's parameter names (Ultralytics', torchvision's) so that weights load by name.
#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "streaminfer/status.h"

namespace torch::nn {
class Module;
}  // namespace torch::nn

namespace streaminfer {

enum class ModelTask {
  kDetect,    // output [B, 4 + nc, A] (YOLOv8 head)
  kClassify,  // output [B, nc] logits
};

struct BuiltinModel {
  std::shared_ptr<torch::nn::Module> module;
  std::function<at::Tensor(const at::Tensor&)> forward;
  // Inference only: folds BatchNorm into convolutions; returns the number folded. Empty for a
  // model without BatchNorm (vit_b_16).
  std::function<Result<int>()> fuse_batch_norm;
  ModelTask task = ModelTask::kDetect;
  int default_input_size = 640;
  // The only input size the model takes (vit_b_16: its position embedding has one row per
  // 16x16 patch of a 224x224 input); 0: any multiple of 32.
  int fixed_input_size = 0;
  // ImageNet's mean and std are subtracted and divided inside the forward (classifiers: their
  // weights were trained on inputs normalized so; detectors take [0, 1]).
  bool imagenet_normalized = false;
};

// The model `run` and `annotate` use when none is given: yolov8n-shapes.
inline constexpr const char* kDefaultModel = "yolov8n-shapes";

// yolov8n-shapes (yolov8n trained by `streaminfer train` on the synthetic scenes, bundled in
// models/), yolov8n, yolov8s, resnet18, resnet50, vit_b_16.
const std::vector<std::string>& builtin_model_names();

// What a built-in model needs from its input, known without building it (building vit_b_16
// takes seconds). Null for a name that is not built in.
struct BuiltinSpec {
  std::string name;
  ModelTask task;
  int default_input_size;
  int fixed_input_size;  // 0: any multiple of 32
  int default_classes;
  // The architecture built (empty: `name`): a bundled model is an architecture plus weights.
  std::string architecture;
  // Bundled models: the weights file in the models folder (find_bundled_weights), loaded when
  // --weights is not given, and the class names those weights were trained on.
  std::string bundled_weights;
  std::vector<std::string> labels;
  std::string origin;  // one line: where the bundled weights come from
};
const BuiltinSpec* find_builtin(const std::string& name);

// The path of a bundled weights file: the first folder that holds it of $STREAMINFER_MODELS_DIR,
// <executable dir>/../share/streaminfer/models (installed), <executable dir>/../models (a build
// folder inside the repository), and the repository's models/ this binary was built from.
Result<std::string> find_bundled_weights(const std::string& file);

// The weights file to load into `spec`'s model: `given` (--weights) when set, else the bundled
// file (found as above), else empty (random weights). An error names --model.
Result<std::string> weights_to_load(const BuiltinSpec& spec, const std::string& given);

// The architecture `name` with random weights, in training mode. num_classes 0: the published
// model's (80 for detectors, 1000 for classifiers).
Result<BuiltinModel> make_builtin_model(const std::string& name, int num_classes);

// (x - ImageNet mean) / ImageNet std per channel, for x in [0, 1]: what the built-in classifiers
// apply to their input.
at::Tensor imagenet_normalize(const at::Tensor& x);

}  // namespace streaminfer
