#include "infer/yolov8.h"

#include <gtest/gtest.h>

namespace streaminfer {
namespace {

int64_t count_parameters(torch::nn::Module& module) {
  int64_t total = 0;
  for (const auto& p : module.parameters()) total += p.numel();
  return total;
}

TEST(YoloV8, NanoParameterCountMatchesUltralytics) {
  YoloV8 model('n', 80);
  // Ultralytics reports 3,157,200 parameters for yolov8n with 80 classes.
  EXPECT_EQ(count_parameters(*model), 3157200);
}

TEST(YoloV8, SmallParameterCountMatchesUltralytics) {
  YoloV8 model('s', 80);
  // Ultralytics reports 11,166,560 parameters for yolov8s with 80 classes.
  EXPECT_EQ(count_parameters(*model), 11166560);
}

TEST(YoloV8, ParameterNamesFollowUltralytics) {
  YoloV8 model('n', 80);
  auto params = model->named_parameters(true);
  for (const char* name :
       {"model.0.conv.weight", "model.0.bn.weight", "model.2.m.0.cv1.conv.weight",
        "model.9.cv2.conv.weight", "model.22.cv2.0.0.conv.weight", "model.22.cv2.0.2.weight",
        "model.22.cv3.2.2.bias", "model.22.dfl.conv.weight"}) {
    EXPECT_NE(params.find(name), nullptr) << name;
  }
  auto buffers = model->named_buffers(true);
  EXPECT_NE(buffers.find("model.21.cv2.bn.running_var"), nullptr);
}

TEST(YoloV8, OutputLayoutIsBoxesThenClassProbabilities) {
  at::manual_seed(0);
  YoloV8 model('n', 80);
  model->eval();
  torch::NoGradGuard no_grad;
  auto out = model->forward(torch::rand({2, 3, 320, 320}));
  ASSERT_EQ(out.dim(), 3);
  EXPECT_EQ(out.size(0), 2);
  EXPECT_EQ(out.size(1), 84);
  EXPECT_EQ(out.size(2), 40 * 40 + 20 * 20 + 10 * 10);
  auto scores = out.slice(1, 4);
  EXPECT_GE(scores.min().item<float>(), 0.0f);
  EXPECT_LE(scores.max().item<float>(), 1.0f);
  // Widths and heights are positive; centres lie near the image (DFL distances are 0..15 bins).
  auto wh = out.slice(1, 2, 4);
  EXPECT_GT(wh.min().item<float>(), 0.0f);
  auto centres = out.slice(1, 0, 2);
  EXPECT_GT(centres.min().item<float>(), -15.0f * 32);
  EXPECT_LT(centres.max().item<float>(), 320.0f + 15.0f * 32);
}

TEST(YoloV8, AnchorCentresFollowTheGrid) {
  YoloV8 model('n', 3);
  model->eval();
  torch::NoGradGuard no_grad;
  // With the box-branch bias prior every side distance is equal, so each predicted box centre is
  // exactly its anchor's centre: (i + 0.5) * stride.
  auto out = model->forward(torch::zeros({1, 3, 64, 64}));
  EXPECT_EQ(out.size(2), 8 * 8 + 4 * 4 + 2 * 2);
  auto cx = out[0][0];
  auto cy = out[0][1];
  EXPECT_NEAR(cx[0].item<float>(), 4.0f, 1e-3);    // first P3 cell: (0 + 0.5) * 8
  EXPECT_NEAR(cx[1].item<float>(), 12.0f, 1e-3);   // second column
  EXPECT_NEAR(cy[8].item<float>(), 12.0f, 1e-3);   // second row
  EXPECT_NEAR(cx[64].item<float>(), 8.0f, 1e-3);   // first P4 cell: (0 + 0.5) * 16
  EXPECT_NEAR(cx[80].item<float>(), 16.0f, 1e-3);  // first P5 cell: (0 + 0.5) * 32
}

}  // namespace
}  // namespace streaminfer
