#include "train/detector_fine_tuner.h"

#include <torch/nn.h>
#include <torch/optim/adamw.h>

#include <chrono>

#include "profile/nvtx.h"
#include "train/adamw.h"

namespace streaminfer {

namespace {

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

}  // namespace

DetectorFineTuner::DetectorFineTuner(YoloV8 model, const FineTuneOptions& options)
    : model_(std::move(model)), decode_outputs_(options.decode_outputs) {
  model_->train();
  if (options.freeze_backbone) {
    for (torch::nn::Module* layer : model_->backbone()) {
      // eval(): BatchNorm keeps its running statistics, so the frozen layers stay bit-identical.
      layer->eval();
      for (auto& p : layer->parameters()) p.set_requires_grad(false);
    }
  }
  std::vector<torch::Tensor> trainable;
  for (const auto& p : model_->parameters()) {
    if (!p.requires_grad()) {
      frozen_ += p.numel();
      continue;
    }
    trainable_ += p.numel();
    trainable.push_back(p);
  }
  optimizer_ = make_adamw(trainable, options.learning_rate, options.weight_decay);
}

DetectorFineTuner::~DetectorFineTuner() = default;

FineTuneStep DetectorFineTuner::step(const at::Tensor& images, const at::Tensor& targets) {
  FineTuneStep out;
  DetectionLoss loss;
  {
    SI_NVTX_RANGE("forward");
    const auto start = std::chrono::steady_clock::now();
    auto raw = model_->forward_raw(images);
    loss = detection_loss(raw, targets, model_->num_classes());
    if (decode_outputs_) {
      torch::NoGradGuard no_grad;
      out.detections =
          model_->decode({raw.outputs.detach(), raw.anchors, raw.strides}).contiguous();
    }
    out.forward_ms = ms_since(start);
  }
  {
    SI_NVTX_RANGE("backward");
    const auto start = std::chrono::steady_clock::now();
    optimizer_->zero_grad();
    loss.total.backward();
    out.backward_ms = ms_since(start);
  }
  {
    SI_NVTX_RANGE("optimizer");
    const auto start = std::chrono::steady_clock::now();
    optimizer_->step();
    out.optimizer_ms = ms_since(start);
  }
  out.box = loss.box;
  out.cls = loss.cls;
  out.dfl = loss.dfl;
  out.loss = loss.box + loss.cls + loss.dfl;
  return out;
}

}  // namespace streaminfer
