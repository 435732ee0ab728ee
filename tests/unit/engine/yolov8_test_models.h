#pragma once
// What the tests of the built-in YOLOv8's inference paths share.
#include <torch/nn.h>

namespace streaminfer {

// Fresh BatchNorm layers are the identity (mean 0, var 1, weight 1, bias 0), which would fold
// into nothing; gives every one statistics and affine parameters far from that.
inline void randomize_batch_norms(torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  at::manual_seed(7);
  // Tensor::uniform_ is avoided: GCC 12 under ASan reports its defaulted c10::optional<Generator>
  // as maybe-uninitialized (-Werror). torch::rand(sizes) takes no generator.
  const auto fill = [](torch::Tensor& t, double lo, double hi) {
    t.copy_(torch::rand(t.sizes()) * (hi - lo) + lo);
  };
  for (auto& item : model.named_buffers(true)) {
    if (item.key().ends_with("running_mean")) fill(item.value(), -0.5, 0.5);
    if (item.key().ends_with("running_var")) fill(item.value(), 0.3, 2.0);
  }
  for (auto& item : model.named_parameters(true)) {
    if (item.key().ends_with("bn.weight")) fill(item.value(), 0.5, 1.5);
    if (item.key().ends_with("bn.bias")) fill(item.value(), -0.5, 0.5);
  }
}

}  // namespace streaminfer
