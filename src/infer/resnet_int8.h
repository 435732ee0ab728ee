#pragma once
// ResNet-18 / ResNet-50 with int8 convolutions: post-training quantization of a built-in ResNet
// (resnet.h) on LibTorch's quantized CPU operators, as yolov8_int8.h does for YOLOv8. Each
// convolution runs int8 with its ReLU fused where one follows, the residual add with its ReLU
// fused too; the stem's max-pool on quint8; the global average pool and the final fully
// connected layer in float32 (one small matrix product).
#include <string>
#include <vector>

#include "infer/int8_model.h"
#include "infer/resnet.h"

namespace streaminfer {

class ResNetInt8 : public Int8Model {
 public:
  // `model`: eval mode, BatchNorm fused (ResNetImpl::fuse_batch_norm), float32, on the CPU.
  static Result<ResNetInt8> create(ResNet model);

  // calibrate() and forward() take inputs in [0, 1], as the pipeline gives them (ImageNet's
  // normalization is applied here, as the float32 built-in does), and return [B, num_classes]
  // logits.

 private:
  ResNetInt8() = default;
  torch::Tensor run(const torch::Tensor& x) override;
  torch::Tensor conv(const torch::Tensor& x, const std::string& name, int64_t stride, bool relu);
  torch::Tensor block(const torch::Tensor& x, int stage, int index);

  bool bottleneck_ = false;
  std::vector<int> blocks_per_stage_;
};

}  // namespace streaminfer
