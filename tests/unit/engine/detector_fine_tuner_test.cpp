#include "train/detector_fine_tuner.h"

#include <gtest/gtest.h>
#include <torch/types.h>

#include <map>
#include <string>

#include "infer/weights_file.h"
#include "train/synthetic_batches.h"

namespace streaminfer {
namespace {

std::map<std::string, torch::Tensor> backbone_state(YoloV8& model) {
  std::map<std::string, torch::Tensor> state;
  int index = 0;
  for (torch::nn::Module* layer : model->backbone()) {
    const std::string prefix = std::to_string(index++) + ".";
    for (const auto& p : layer->named_parameters()) state[prefix + p.key()] = p.value().clone();
    for (const auto& b : layer->named_buffers()) {
      state["buffer:" + prefix + b.key()] = b.value().clone();
    }
  }
  return state;
}

int64_t count(const std::map<std::string, torch::Tensor>& state) {
  int64_t total = 0;
  for (const auto& [name, tensor] : state) {
    if (name.rfind("buffer:", 0) != 0) total += tensor.numel();
  }
  return total;
}

// Fine-tuning starts from a trained detector, as retrain mode does: from random weights the
// task-aligned targets grow with the predictions' overlap, so the loss first rises.
TEST(DetectorFineTuner, AFewStepsLowerTheLossAndLeaveTheFrozenBackboneBitIdentical) {
  torch::manual_seed(3);
  std::vector<SceneSpec> scenes(2);
  scenes[0] = {320, 320, 5, 21, 5};
  scenes[1] = {320, 240, 4, 22, 9};
  auto batch = render_scenes(scenes, 160);
  ASSERT_TRUE(batch) << batch.status().message();

  YoloV8 model('n', 4);
  Status loaded = load_weights(*model, STREAMINFER_TEST_MODELS "/yolov8n-shapes-320.pt");
  ASSERT_TRUE(loaded) << loaded.message();
  const auto before = backbone_state(model);
  DetectorFineTuner tuner(model, FineTuneOptions{});
  // The backbone, and the head's fixed DFL projection (16 weights, never trained).
  EXPECT_EQ(tuner.frozen_parameters(), count(before) + 16);
  EXPECT_GT(tuner.trainable_parameters(), 0);

  const FineTuneStep first = tuner.step(batch->images, batch->targets);
  FineTuneStep last = first;
  for (int i = 0; i < 6; ++i) last = tuner.step(batch->images, batch->targets);
  EXPECT_LT(last.loss, first.loss * 0.9) << "first " << first.loss << ", last " << last.loss;
  EXPECT_GT(first.forward_ms, 0);
  EXPECT_GT(first.backward_ms, 0);
  EXPECT_GT(first.optimizer_ms, 0);

  const auto after = backbone_state(model);
  ASSERT_EQ(before.size(), after.size());
  for (const auto& [name, tensor] : before) {
    EXPECT_TRUE(torch::equal(tensor, after.at(name))) << name << " changed";
  }
  // The head did train.
  auto head = model->named_parameters()["model.22.cv3.0.2.weight"];
  EXPECT_TRUE(head.requires_grad());
}

// Retrain mode gives frames the detections of the forward that trained on them: the same as the
// model's own forward (training mode, weights before the step), and the step still trains.
TEST(DetectorFineTuner, DecodedOutputsAreTheForwardsDetectionsBeforeTheUpdate) {
  torch::manual_seed(5);
  std::vector<SceneSpec> scenes(2);
  scenes[0] = {256, 192, 3, 31, 2};
  scenes[1] = {192, 256, 2, 32, 4};
  auto batch = render_scenes(scenes, 128);
  ASSERT_TRUE(batch) << batch.status().message();
  YoloV8 model('n', 4);
  DetectorFineTuner tuner(model, FineTuneOptions{.decode_outputs = true});
  torch::Tensor expected;
  {
    torch::NoGradGuard no_grad;
    expected = tuner.model()->forward(batch->images);
  }
  const FineTuneStep step = tuner.step(batch->images, batch->targets);
  ASSERT_TRUE(step.detections.defined());
  ASSERT_EQ(step.detections.sizes(), expected.sizes());
  EXPECT_TRUE(torch::allclose(step.detections, expected, 1e-4, 1e-4));
  torch::Tensor after;
  {
    torch::NoGradGuard no_grad;
    after = tuner.model()->forward(batch->images);
  }
  EXPECT_FALSE(torch::allclose(after, expected, 1e-4, 1e-4)) << "the step changed nothing";
}

}  // namespace
}  // namespace streaminfer
