#pragma once
// The optimizer of `train` and of fine-tuning: AdamW whose weight decay falls on convolution and
// linear weights only, so that BatchNorm scales and biases are not shrunk towards zero.
#include <ATen/core/Tensor.h>

#include <memory>
#include <vector>

namespace torch::optim {
class AdamW;
}  // namespace torch::optim

namespace streaminfer {

// parameters: the ones to train. Tensors of more than one dimension get `weight_decay`.
std::unique_ptr<torch::optim::AdamW> make_adamw(const std::vector<at::Tensor>& parameters,
                                                double learning_rate, double weight_decay);

}  // namespace streaminfer
