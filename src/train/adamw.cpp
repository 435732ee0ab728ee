#include "train/adamw.h"

#include <torch/optim/adamw.h>

namespace streaminfer {

std::unique_ptr<torch::optim::AdamW> make_adamw(const std::vector<at::Tensor>& parameters,
                                                double learning_rate, double weight_decay) {
  std::vector<torch::Tensor> decayed, not_decayed;
  for (const auto& p : parameters) (p.dim() > 1 ? decayed : not_decayed).push_back(p);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decayed,
                      std::make_unique<torch::optim::AdamWOptions>(
                          torch::optim::AdamWOptions(learning_rate).weight_decay(weight_decay)));
  groups.emplace_back(not_decayed, std::make_unique<torch::optim::AdamWOptions>(
                                       torch::optim::AdamWOptions(learning_rate).weight_decay(0)));
  return std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(learning_rate));
}

}  // namespace streaminfer
