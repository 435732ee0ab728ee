#include "train/classifier_fine_tuner.h"

#include <gtest/gtest.h>
#include <torch/nn.h>
#include <torch/types.h>

#include <map>
#include <string>

#include "infer/model_zoo.h"

namespace streaminfer {
namespace {

std::map<std::string, torch::Tensor> classifier_state(torch::nn::Module& module) {
  std::map<std::string, torch::Tensor> state;
  for (const auto& p : module.named_parameters()) state[p.key()] = p.value().clone();
  for (const auto& b : module.named_buffers()) state["buffer:" + b.key()] = b.value().clone();
  return state;
}

// A fixed batch, as a camera that shows the same scenes again: the head alone can fit its labels,
// and the rest of the model (BatchNorm statistics included) must not move.
TEST(ClassifierFineTuner, AFewStepsLowerTheLossAndOnlyTheHeadChanges) {
  torch::manual_seed(11);
  auto made = make_builtin_model("resnet18", 4);
  ASSERT_TRUE(made) << made.status().message();
  torch::nn::Module& module = *made->module;
  const auto before = classifier_state(module);
  ClassifierFineTuner tuner(std::move(made.value()), 5e-2);
  EXPECT_EQ(tuner.trainable_parameters(), 512 * 4 + 4);  // fc: [4, 512] and its bias
  EXPECT_GT(tuner.frozen_parameters(), 11'000'000);

  // Four images far apart (brightness 0.1 to 0.85 plus noise), so their features differ.
  const auto images = (torch::arange(4).to(torch::kFloat).mul(0.25).add(0.1).view({4, 1, 1, 1}) +
                       0.1 * torch::rand({4, 3, 64, 64}))
                          .clamp(0, 1);
  const auto labels = torch::tensor({0, 1, 2, 3}, torch::kLong);
  torch::Tensor logits;
  const FineTuneStep first = tuner.step(images, labels, &logits);
  ASSERT_EQ(logits.sizes(), (std::vector<int64_t>{4, 4}));
  FineTuneStep last = first;
  for (int i = 0; i < 10; ++i) last = tuner.step(images, labels, nullptr);
  EXPECT_LT(last.loss, first.loss * 0.8) << "first " << first.loss << ", last " << last.loss;
  EXPECT_GT(first.forward_ms, 0);
  EXPECT_GT(first.backward_ms, 0);
  EXPECT_GT(first.optimizer_ms, 0);

  const auto after = classifier_state(module);
  for (const auto& [name, tensor] : before) {
    const bool head = name.rfind("fc.", 0) == 0;
    EXPECT_EQ(torch::equal(tensor, after.at(name)), !head)
        << name << (head ? " did not train" : " changed");
  }
}

}  // namespace
}  // namespace streaminfer
