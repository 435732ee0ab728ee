#include "infer/batch_norm_fold.h"

#include <torch/nn.h>

namespace streaminfer {

torch::nn::Conv2d fold_batch_norm(const torch::nn::Conv2d& conv, const torch::nn::BatchNorm2d& bn) {
  torch::NoGradGuard no_grad;
  // y = gamma * (conv(x) + b - mean) / sqrt(var + eps) + beta = conv'(x) + b', per output channel.
  const auto to_double = [](const torch::Tensor& t) { return t.to(torch::kFloat64); };
  auto scale = to_double(bn->weight) / (to_double(bn->running_var) + bn->options.eps()).sqrt();
  auto weight = to_double(conv->weight) * scale.view({-1, 1, 1, 1});
  auto old_bias = conv->bias.defined() ? to_double(conv->bias) : torch::zeros_like(scale);
  auto bias = to_double(bn->bias) + (old_bias - to_double(bn->running_mean)) * scale;
  const auto& o = conv->options;
  auto fused =
      torch::nn::Conv2d(torch::nn::Conv2dOptions(o.in_channels(), o.out_channels(), o.kernel_size())
                            .stride(o.stride())
                            .padding(o.padding())
                            .dilation(o.dilation())
                            .groups(o.groups())
                            .bias(true));
  fused->weight.copy_(weight);
  fused->bias.copy_(bias);
  fused->to(conv->weight.scalar_type());
  fused->eval();
  return fused;
}

}  // namespace streaminfer
