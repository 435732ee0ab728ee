#include "train/classifier_fine_tuner.h"

#include <torch/nn.h>
#include <torch/optim/adamw.h>

#include <chrono>
#include <string_view>

#include "profile/nvtx.h"

namespace streaminfer {

namespace {

double classifier_ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

// The classification heads of the built-in classifiers, by torchvision's parameter names.
bool is_classifier_head(std::string_view name) {
  return name.starts_with("fc.") || name.starts_with("heads.head.");
}

}  // namespace

ClassifierFineTuner::ClassifierFineTuner(BuiltinModel model, double learning_rate)
    : model_(std::move(model)) {
  // eval(): BatchNorm keeps its running statistics and dropout is off, so the frozen body gives
  // the same features at every step and stays bit-identical.
  model_.module->eval();
  std::vector<torch::Tensor> head;
  for (const auto& p : model_.module->named_parameters(/*recurse=*/true)) {
    const bool train = is_classifier_head(p.key());
    p.value().set_requires_grad(train);
    if (train) {
      head.push_back(p.value());
      trainable_ += p.value().numel();
    } else {
      frozen_ += p.value().numel();
    }
  }
  optimizer_ = std::make_unique<torch::optim::AdamW>(
      head, torch::optim::AdamWOptions(learning_rate).weight_decay(5e-4));
}

ClassifierFineTuner::~ClassifierFineTuner() = default;

FineTuneStep ClassifierFineTuner::step(const at::Tensor& images, const at::Tensor& labels,
                                       at::Tensor* logits) {
  FineTuneStep out;
  torch::Tensor loss;
  {
    SI_NVTX_RANGE("forward");
    const auto start = std::chrono::steady_clock::now();
    auto scores = model_.forward(images);
    loss = torch::nn::functional::cross_entropy(scores, labels);
    if (logits) *logits = scores.detach().contiguous();
    out.forward_ms = classifier_ms_since(start);
  }
  {
    SI_NVTX_RANGE("backward");
    const auto start = std::chrono::steady_clock::now();
    optimizer_->zero_grad();
    loss.backward();
    out.backward_ms = classifier_ms_since(start);
  }
  {
    SI_NVTX_RANGE("optimizer");
    const auto start = std::chrono::steady_clock::now();
    optimizer_->step();
    out.optimizer_ms = classifier_ms_since(start);
  }
  out.loss = loss.item<double>();
  return out;
}

}  // namespace streaminfer
