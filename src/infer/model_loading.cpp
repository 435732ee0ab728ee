#include "infer/model_loading.h"

#include <ATen/core/ivalue.h>
#include <fmt/format.h>
#include <torch/nn/module.h>

#include "infer/weights_file.h"

namespace streaminfer {

std::vector<std::string> labels_for(int num_classes, ModelTask task) {
  if (task == ModelTask::kDetect && num_classes == static_cast<int>(coco_labels().size()))
    return coco_labels();
  std::vector<std::string> labels;
  for (int i = 0; i < num_classes; ++i) labels.push_back(fmt::format("class_{}", i));
  return labels;
}

Result<at::Tensor> detection_tensor(const c10::IValue& value) {
  if (value.isTensor()) return value.toTensor();
  if (value.isTuple() && !value.toTupleRef().elements().empty())
    return detection_tensor(value.toTupleRef().elements()[0]);
  if (value.isList() && value.toListRef().size() > 0) return detection_tensor(value.toListRef()[0]);
  return Status::error(fmt::format("returns a {}, not a tensor", value.tagKind()));
}

Result<int> classes_in_weights(const BuiltinSpec& spec, const std::string& weights) {
  const std::string& architecture = spec.architecture.empty() ? spec.name : spec.architecture;
  const std::string bias = spec.task == ModelTask::kDetect ? "model.22.cv3.0.2.bias"
                           : architecture == "vit_b_16"    ? "heads.head.bias"
                                                           : "fc.bias";
  auto shape = weights_tensor_shape(weights, bias);
  if (!shape) return shape.status();
  if (shape->size() != 1 || (*shape)[0] < 1) {
    return Status::error(
        fmt::format("weights file '{}': '{}' is not a bias vector (was it saved "
                    "from {}?)",
                    weights, bias, architecture));
  }
  return static_cast<int>((*shape)[0]);
}

Result<BuiltinModel> load_builtin_model(const BackendOptions& options, ModelInfo* info,
                                        std::string* weights_loaded) {
  // Checked before building: vit_b_16 alone takes seconds to build.
  const BuiltinSpec& spec = *find_builtin(options.model);
  if (spec.fixed_input_size > 0 && options.input_size != 0 &&
      options.input_size != spec.fixed_input_size) {
    return Status::error(fmt::format(
        "--imgsz {}: {} takes {}x{} input only (its position embedding has one row per 16x16 "
        "patch); leave --imgsz out or give {}",
        options.input_size, options.model, spec.fixed_input_size, spec.fixed_input_size,
        spec.fixed_input_size));
  }
  auto weights_file = weights_to_load(spec, options.weights);
  if (!weights_file) return weights_file.status();
  const std::string& weights = *weights_file;
  int num_classes = options.num_classes;
  if (num_classes == 0 && !weights.empty()) {
    // Built to match the file: a detector trained on 4 classes loads without --num-classes.
    auto classes = classes_in_weights(spec, weights);
    if (!classes) return Status::error("--weights: " + classes.status().message());
    num_classes = *classes;
  }
  auto made = make_builtin_model(options.model, num_classes);
  if (!made) return made.status();
  BuiltinModel model = std::move(made.value());
  torch::nn::Module& module = *model.module;
  info->name = options.model;
  info->task = model.task;
  if (!weights.empty()) {
    if (auto loaded = load_weights(module, weights); !loaded) {
      return Status::error("--weights: " + loaded.message());
    }
  }
  module.eval();
  info->random_weights = weights.empty();
  // Counted before fusing, which adds a bias per convolution: the architecture's own count.
  for (const auto& p : module.parameters()) info->num_parameters += p.numel();
  if (options.fuse_bn && model.fuse_batch_norm) {
    auto fused = model.fuse_batch_norm();
    if (!fused) {
      return Status::error(fmt::format("--model {}: {}", options.model, fused.status().message()));
    }
  }
  *weights_loaded = weights;
  return model;
}

Status read_output_layout(const at::Tensor& out, const std::string& model, int input_size,
                          ModelInfo* info) {
  if (info->task == ModelTask::kClassify) {
    // Built-in classifiers only: their shape is known, this checks the forward itself.
    if (out.dim() != 2 || out.size(0) != 1) {
      return Status::error(fmt::format("--model: '{}' outputs shape [{}]; expected [1, classes]",
                                       model, fmt::join(out.sizes(), ", ")));
    }
    info->num_classes = static_cast<int>(out.size(1));
    info->labels = labels_for(info->num_classes, info->task);
    return Status::ok();
  }
  if (out.dim() != 3 || out.size(0) != 1 || out.size(1) < 5 || out.size(2) < out.size(1)) {
    return Status::error(fmt::format(
        "--model: '{}' outputs shape [{}] for a [1, 3, {}, {}] input; expected [B, 4+nc, A] "
        "(a YOLOv8 detection head as exported by Ultralytics)",
        model, fmt::join(out.sizes(), ", "), input_size, input_size));
  }
  info->num_classes = static_cast<int>(out.size(1) - 4);
  info->num_anchors = out.size(2);
  info->labels = labels_for(info->num_classes, info->task);
  return Status::ok();
}

}  // namespace streaminfer
