// Inference optimizations of the built-in YOLOv8 must not change its output: BatchNorm folded
// into the convolutions and channels-last memory give the eager model's output within float
// rounding.
#include <gtest/gtest.h>

#include "infer/backend.h"
#include "infer/yolov8.h"
#include "yolov8_test_models.h"

namespace streaminfer {
namespace {

void expect_same_output(const torch::Tensor& actual, const torch::Tensor& expected) {
  ASSERT_EQ(actual.sizes(), expected.sizes());
  // Class probabilities in [0, 1]; box coordinates in input pixels (up to about 128 + margin).
  const double score_diff = (actual.slice(1, 4) - expected.slice(1, 4)).abs().max().item<double>();
  const double box_diff =
      (actual.slice(1, 0, 4) - expected.slice(1, 0, 4)).abs().max().item<double>();
  EXPECT_LT(score_diff, 1e-4);
  EXPECT_LT(box_diff, 1e-2);
}

TEST(YoloV8Fuse, FusedBatchNormGivesTheSameOutput) {
  at::manual_seed(0);
  YoloV8 model('n', 80);
  randomize_batch_norms(*model);
  model->eval();
  c10::InferenceMode inference_mode;
  const auto input = torch::rand({2, 3, 128, 128});
  const auto reference = model->forward(input);

  auto fused = model->fuse_batch_norm();
  ASSERT_TRUE(fused) << fused.status().message();
  EXPECT_GT(fused.value(), 50);  // every Conv-BN-SiLU block of yolov8n
  expect_same_output(model->forward(input), reference);
  // Fusing twice changes nothing.
  auto again = model->fuse_batch_norm();
  ASSERT_TRUE(again);
  EXPECT_EQ(again.value(), 0);
  // The fused convolution keeps Ultralytics' name and gains a bias.
  EXPECT_NE(model->named_parameters(true).find("model.0.conv.bias"), nullptr);
}

TEST(YoloV8Fuse, ChannelsLastGivesTheSameOutput) {
  at::manual_seed(0);
  YoloV8 model('n', 80);
  randomize_batch_norms(*model);
  model->eval();
  c10::InferenceMode inference_mode;
  const auto input = torch::rand({2, 3, 96, 96});
  const auto reference = model->forward(input);
  ASSERT_TRUE(model->fuse_batch_norm());
  convert_to_channels_last(*model);
  EXPECT_TRUE(model->named_parameters(true)["model.0.conv.weight"].is_contiguous(
      torch::MemoryFormat::ChannelsLast));
  expect_same_output(model->forward(input.contiguous(torch::MemoryFormat::ChannelsLast)),
                     reference);
}

TEST(YoloV8Fuse, FusingInTrainingModeIsRefused) {
  YoloV8 model('n', 80);
  model->train();
  auto fused = model->fuse_batch_norm();
  ASSERT_FALSE(fused);
  EXPECT_NE(fused.status().message().find("eval mode"), std::string::npos);
}

// The backend's options give the same detections tensor as the plain eager model.
TEST(YoloV8Fuse, BackendOptionsDoNotChangeTheOutput) {
  const auto input = torch::rand({1, 3, 64, 64});
  torch::Tensor reference;
  for (const bool fuse : {false, true}) {
    for (const bool channels_last : {false, true}) {
      BackendOptions options;
      options.input_size = 64;
      options.threads = 1;
      options.fuse_bn = fuse;
      options.channels_last = channels_last;
      at::manual_seed(0);
      auto backend = create_backend(options);
      ASSERT_TRUE(backend) << backend.status().message();
      auto out = backend.value()->infer(input);
      ASSERT_TRUE(out) << out.status().message();
      EXPECT_TRUE(out.value().is_contiguous());
      if (!reference.defined()) {
        reference = out.value();
      } else {
        SCOPED_TRACE(testing::Message() << "fuse " << fuse << ", channels-last " << channels_last);
        expect_same_output(out.value(), reference);
      }
    }
  }
}

}  // namespace
}  // namespace streaminfer
