#include "train/online_trainer.h"

#include <fmt/format.h>
#include <torch/nn.h>
#include <torch/types.h>

#include <algorithm>

#include "infer/model_zoo.h"
#include "infer/weights_file.h"
#include "infer/yolov8.h"
#include "streaminfer/clock.h"
#include "train/classifier_fine_tuner.h"
#include "train/detector_fine_tuner.h"
#include "train/synthetic_batches.h"

namespace streaminfer {

namespace {

// Boxes of classes the model has no output for cannot be learned: left out.
std::vector<std::vector<GroundTruthBox>> known_classes_only(
    const std::vector<std::vector<GroundTruthBox>>& labels, int num_classes) {
  std::vector<std::vector<GroundTruthBox>> kept(labels.size());
  for (size_t i = 0; i < labels.size(); ++i) {
    for (const auto& box : labels[i]) {
      if (box.class_id >= 0 && box.class_id < num_classes) kept[i].push_back(box);
    }
  }
  return kept;
}

TrainStepRecord record_of(const FineTuneStep& step, int64_t start_ns, bool has_parts) {
  TrainStepRecord r;
  r.loss = step.loss;
  if (has_parts) {
    r.box = step.box;
    r.cls = step.cls;
    r.dfl = step.dfl;
  }
  r.forward_ms = step.forward_ms;
  r.backward_ms = step.backward_ms;
  r.optimizer_ms = step.optimizer_ms;
  r.start_ns = start_ns;
  return r;
}

class DetectorOnlineTrainer : public OnlineTrainer {
 public:
  DetectorOnlineTrainer(YoloV8 model, const OnlineTrainerOptions& options)
      : num_classes_(model->num_classes()),
        tuner_(model,
               FineTuneOptions{.learning_rate = options.learning_rate, .decode_outputs = true}) {
    description_ = fmt::format(
        "{}: backbone (layers 0-9, {:.2f}M parameters) frozen, neck and head ({:.2f}M) trained "
        "with the YOLOv8 loss, AdamW lr {}",
        options.model, static_cast<double>(tuner_.frozen_parameters()) / 1e6,
        static_cast<double>(tuner_.trainable_parameters()) / 1e6, options.learning_rate);
  }

  OnlineStep step(const at::Tensor& images,
                  const std::vector<std::vector<GroundTruthBox>>& labels) override {
    const at::Tensor targets = make_targets(known_classes_only(labels, num_classes_));
    const int64_t start = now_ns();
    FineTuneStep step = tuner_.step(images, targets);
    return {std::move(step.detections), record_of(step, start, true)};
  }
  Status save(const std::string& path) override { return save_weights(*tuner_.model(), path); }
  const std::string& description() const override { return description_; }

 private:
  int num_classes_;
  DetectorFineTuner tuner_;
  std::string description_;
};

class ClassifierOnlineTrainer : public OnlineTrainer {
 public:
  ClassifierOnlineTrainer(BuiltinModel model, int num_classes, const OnlineTrainerOptions& options)
      : num_classes_(num_classes), tuner_(std::move(model), options.learning_rate) {
    description_ = fmt::format(
        "{}: all but the classification head ({:.2f}M parameters) frozen, the head ({:.3f}M) "
        "trained with cross-entropy on the class of each frame's largest object, AdamW lr {}",
        options.model, static_cast<double>(tuner_.frozen_parameters()) / 1e6,
        static_cast<double>(tuner_.trainable_parameters()) / 1e6, options.learning_rate);
  }

  OnlineStep step(const at::Tensor& images,
                  const std::vector<std::vector<GroundTruthBox>>& labels) override {
    std::vector<int64_t> classes;
    for (const auto& boxes : known_classes_only(labels, num_classes_)) {
      const auto largest = std::max_element(
          boxes.begin(), boxes.end(),
          [](const auto& a, const auto& b) { return a.box.area() < b.box.area(); });
      classes.push_back(largest == boxes.end() ? 0 : largest->class_id);
    }
    const at::Tensor targets = torch::tensor(classes, torch::kLong);
    const int64_t start = now_ns();
    OnlineStep out;
    const FineTuneStep step = tuner_.step(images, targets, &out.output);
    out.record = record_of(step, start, false);
    return out;
  }
  Status save(const std::string& path) override { return save_weights(tuner_.module(), path); }
  const std::string& description() const override { return description_; }

 private:
  int num_classes_;
  ClassifierFineTuner tuner_;
  std::string description_;
};

}  // namespace

Result<std::unique_ptr<OnlineTrainer>> create_online_trainer(const OnlineTrainerOptions& options) {
  const BuiltinSpec* spec = find_builtin(options.model);
  if (!spec) {
    return Status::error(fmt::format(
        "--mode retrain: --model {} is not a built-in architecture (a TorchScript file cannot be "
        "fine-tuned here); give one of yolov8n-shapes, yolov8n, yolov8s, resnet18, resnet50, "
        "vit_b_16",
        options.model));
  }
  // The same weights as the backend's: a bundled model (the default) brings its own.
  auto weights_file = weights_to_load(*spec, options.weights);
  if (!weights_file) return weights_file.status();
  const std::string& weights = *weights_file;
  auto made = make_builtin_model(options.model, options.num_classes);
  if (!made) return made.status();
  if (!weights.empty()) {
    if (Status loaded = load_weights(*made->module, weights); !loaded) {
      return Status::error("--weights: " + loaded.message());
    }
  }
  if (made->task == ModelTask::kDetect) {
    auto impl = std::dynamic_pointer_cast<YoloV8Impl>(made->module);
    if (!impl) return Status::error(fmt::format("--model {}: not a YOLOv8 module", options.model));
    return std::unique_ptr<OnlineTrainer>(
        std::make_unique<DetectorOnlineTrainer>(YoloV8(impl), options));
  }
  const int classes = options.num_classes > 0 ? options.num_classes : spec->default_classes;
  return std::unique_ptr<OnlineTrainer>(
      std::make_unique<ClassifierOnlineTrainer>(std::move(made.value()), classes, options));
}

}  // namespace streaminfer
