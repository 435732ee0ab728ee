#pragma once
// Online fine-tuning of a built-in classifier (the `--mode retrain` step for resnet18/50 and
// vit_b_16): everything frozen but the classification head (ResNet's fc, ViT's heads.head), the
// whole model in eval mode so BatchNorm statistics and dropout stay fixed, the head trained with
// cross-entropy by AdamW, one step per batch, forward / backward / optimizer timed apart.
#include <ATen/core/Tensor.h>

#include <memory>

#include "infer/model_zoo.h"
#include "train/detector_fine_tuner.h"

namespace streaminfer {

class ClassifierFineTuner {
 public:
  // model: a built-in classifier (task kClassify). The head is trained as it is ("head trained",
  // not replaced): its class count stays the model's, and labels index into it.
  ClassifierFineTuner(BuiltinModel model, double learning_rate);
  ~ClassifierFineTuner();
  ClassifierFineTuner(const ClassifierFineTuner&) = delete;
  ClassifierFineTuner& operator=(const ClassifierFineTuner&) = delete;

  // images: [B, 3, S, S] in [0, 1]; labels: [B] int64 class indices. The step's logits [B, nc]
  // (before the update) are returned in `logits` when it is not null.
  FineTuneStep step(const at::Tensor& images, const at::Tensor& labels, at::Tensor* logits);
  int64_t trainable_parameters() const { return trainable_; }
  int64_t frozen_parameters() const { return frozen_; }
  torch::nn::Module& module() { return *model_.module; }

 private:
  BuiltinModel model_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  int64_t trainable_ = 0, frozen_ = 0;
};

}  // namespace streaminfer
