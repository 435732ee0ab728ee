#pragma once
// Online fine-tuning of a YOLOv8 detector (the `--mode retrain` step): the backbone (layers 0-9)
// frozen, with its BatchNorm statistics fixed too, and the neck and head trained by AdamW, one
// optimizer step per batch. Each step's forward, backward and optimizer times are measured
// separately, because they are what a profiling user compares.
#include <ATen/core/Tensor.h>

#include <memory>

#include "infer/yolov8.h"
#include "train/detection_loss.h"

namespace torch::optim {
class AdamW;
}  // namespace torch::optim

namespace streaminfer {

struct FineTuneOptions {
  double learning_rate = 1e-3;
  double weight_decay = 5e-4;
  bool freeze_backbone = true;
  // Also decode the training forward's head outputs into detections (FineTuneStep::detections):
  // retrain mode's frames get their results from the forward that trained on them, not from a
  // second, eval-mode forward.
  bool decode_outputs = false;
};

struct FineTuneStep {
  double loss = 0;  // box + cls + dfl, per image
  double box = 0, cls = 0, dfl = 0;
  double forward_ms = 0, backward_ms = 0, optimizer_ms = 0;
  // With FineTuneOptions::decode_outputs: [B, 4 + nc, A] as YoloV8::forward gives it, from the
  // weights before this step's update (part of forward_ms); undefined otherwise.
  at::Tensor detections;
};

class DetectorFineTuner {
 public:
  DetectorFineTuner(YoloV8 model, const FineTuneOptions& options);
  ~DetectorFineTuner();
  DetectorFineTuner(const DetectorFineTuner&) = delete;
  DetectorFineTuner& operator=(const DetectorFineTuner&) = delete;

  // images: [B, 3, S, S] in [0, 1]; targets: [B, M, 5] as detection_loss takes them.
  FineTuneStep step(const at::Tensor& images, const at::Tensor& targets);
  YoloV8& model() { return model_; }
  int64_t trainable_parameters() const { return trainable_; }
  int64_t frozen_parameters() const { return frozen_; }

 private:
  YoloV8 model_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  int64_t trainable_ = 0, frozen_ = 0;
  bool decode_outputs_ = false;
};

}  // namespace streaminfer
