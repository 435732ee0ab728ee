#pragma once
// A built-in ResNet (resnet.h) in float32 on oneDNN directly (onednn_plan.h): every convolution
// with its bias (BatchNorm folded), ReLU and the block's residual add fused into it, the stem's
// max-pool, with the activations in one oneDNN layout from the first convolution to the last
// block's output; the global average pooling and the classifier after it are the model's (a
// 2048-wide average and one matrix product). LibTorch instead runs each convolution alone,
// reorders activations around it, and makes the ReLUs and adds passes of their own.
//
// One plan per input shape (onednn_plan_cache.h). Builds without oneDNN's headers link
// onednn_networks_absent.cpp, whose create() says so.
#include <memory>
#include <string>

#include "infer/onednn_layout.h"
#include "infer/onednn_network.h"
#include "infer/resnet.h"
#include "streaminfer/status.h"

namespace streaminfer {

class ResNetOneDnn : public OneDnnNetwork {
 public:
  // `model`: eval mode, BatchNorm fused (ResNetImpl::fuse_batch_norm), float32, on the CPU. Its
  // convolutions' parameters are copied into the plans; the model keeps the classifier.
  // `imagenet_normalized`: the input is normalized with ImageNet's mean and std first, as the
  // built-in model's forward does (model_zoo.h). `winograd`: see Winograd.
  static Result<std::unique_ptr<ResNetOneDnn>> create(ResNet model, OneDnnLayout layout,
                                                      bool imagenet_normalized,
                                                      Winograd winograd = Winograd::kWhereFaster);
  ~ResNetOneDnn() override;

  // x: [B, 3, H, W] float32. Returns [B, num_classes] logits as the model does.
  torch::Tensor forward(const torch::Tensor& x) override;
  void keep_batches(int64_t max_batch, int64_t height, int64_t width) override;
  std::string describe() const override;

 private:
  struct Impl;
  explicit ResNetOneDnn(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace streaminfer
