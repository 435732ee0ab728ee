#pragma once
// Folding an inference-mode BatchNorm into the convolution before it: shared by the built-in
// architectures (YOLOv8's Conv-BN-SiLU blocks, ResNet's conv/bn pairs).
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>

namespace streaminfer {

// A convolution with bias that computes bn(conv(x)) with bn's running statistics, in conv's
// dtype; eval mode. Computed in double so that folding adds no rounding of its own beyond the final
// cast.
torch::nn::Conv2d fold_batch_norm(const torch::nn::Conv2d& conv, const torch::nn::BatchNorm2d& bn);

}  // namespace streaminfer
