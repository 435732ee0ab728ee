#include "train/detection_loss.h"

#include <gtest/gtest.h>
#include <torch/types.h>

#include <cmath>

#include "infer/yolov8.h"
#include "train/synthetic_batches.h"

namespace streaminfer {
namespace {

TEST(CompleteIou, IdenticalBoxesScoreOne) {
  auto a = torch::tensor({10.0f, 20.0f, 50.0f, 40.0f});
  EXPECT_NEAR(complete_iou(a, a).item<float>(), 1.0f, 1e-5);
}

TEST(CompleteIou, ConcentricBoxesOfOneAspectRatioScoreTheirIou) {
  // Same centre and aspect ratio: the distance and aspect terms vanish; IoU = 4 / 16.
  auto a = torch::tensor({0.0f, 0.0f, 4.0f, 4.0f});
  auto b = torch::tensor({1.0f, 1.0f, 3.0f, 3.0f});
  EXPECT_NEAR(complete_iou(a, b).item<float>(), 0.25f, 1e-5);
}

TEST(CompleteIou, DisjointBoxesArePenalisedByTheirDistance) {
  // No overlap: -(centre distance^2 / enclosing diagonal^2) = -(4^2 / (6^2 + 2^2)) = -0.4.
  auto a = torch::tensor({0.0f, 0.0f, 2.0f, 2.0f});
  auto b = torch::tensor({4.0f, 0.0f, 6.0f, 2.0f});
  EXPECT_NEAR(complete_iou(a, b).item<float>(), -0.4f, 1e-5);
}

// One small fixed batch, rendered once: two synthetic scenes at 128 x 128.
const DetectionBatch& small_batch() {
  static const DetectionBatch batch = [] {
    std::vector<SceneSpec> scenes(2);
    scenes[0] = {256, 256, 4, 11, 3};
    scenes[1] = {320, 180, 5, 12, 40};
    auto rendered = render_scenes(scenes, 128);
    EXPECT_TRUE(rendered) << rendered.status().message();
    return *rendered;
  }();
  return batch;
}

TEST(DetectionLoss, WithoutGroundTruthOnlyTheClassTermRemains) {
  torch::manual_seed(0);
  YoloV8 model('n', 4);
  auto raw = model->forward_raw(torch::rand({1, 3, 64, 64}));
  auto targets = torch::full({1, 1, 5}, -1.0f);
  DetectionLoss loss = detection_loss(raw, targets, 4);
  EXPECT_EQ(loss.assigned_anchors, 0);
  EXPECT_EQ(loss.box, 0);
  EXPECT_EQ(loss.dfl, 0);
  EXPECT_GT(loss.cls, 0);
  EXPECT_TRUE(std::isfinite(loss.total.item<double>()));
}

TEST(DetectionLoss, AssignsAnchorsInsideEveryBoxAndBackPropagates) {
  torch::manual_seed(0);
  YoloV8 model('n', 4);
  const DetectionBatch& batch = small_batch();
  ASSERT_GT(batch.targets.size(1), 0);
  auto raw = model->forward_raw(batch.images);
  DetectionLoss loss = detection_loss(raw, batch.targets, 4);
  EXPECT_GT(loss.assigned_anchors, 0);
  EXPECT_GT(loss.box, 0);
  EXPECT_GT(loss.dfl, 0);
  loss.total.backward();
  auto head_bias = model->named_parameters()["model.22.cv3.0.2.bias"];
  ASSERT_TRUE(head_bias.grad().defined());
  EXPECT_GT(head_bias.grad().abs().sum().item<float>(), 0);
}

TEST(SyntheticBatches, BoxesLieInsideTheLetterboxedImage) {
  const DetectionBatch& batch = small_batch();
  EXPECT_EQ(batch.images.sizes(), (std::vector<int64_t>{2, 3, 128, 128}));
  int64_t boxes = 0;
  for (const auto& image : batch.boxes) {
    for (const GroundTruthBox& b : image) {
      ++boxes;
      EXPECT_GE(b.box.x1, 0);
      EXPECT_LE(b.box.x2, 128);
      EXPECT_LT(b.box.x1, b.box.x2);
      EXPECT_LT(b.box.y1, b.box.y2);
      // The 320x180 scene is letterboxed to 128x72 between grey bands from y = 28 to 100.
      if (&image == &batch.boxes[1]) {
        EXPECT_GE(b.box.y1, 28);
        EXPECT_LE(b.box.y2, 100);
      }
    }
  }
  EXPECT_GT(boxes, 0);
  // Padding rows carry class -1, real rows a class in [0, 4).
  auto classes = batch.targets.select(2, 0);
  EXPECT_EQ(classes.ge(0).sum().item<int64_t>(), boxes);
  EXPECT_LT(classes.max().item<float>(), 4);
}

TEST(SyntheticBatches, ASamplerSkippingAheadDrawsWhatItWouldHaveDrawn) {
  SceneSampler drawn(1000, 7), skipped(1000, 7);
  for (int i = 0; i < 5; ++i) drawn.next();
  skipped.skip(5);
  const SceneSpec a = drawn.next(), b = skipped.next();
  EXPECT_EQ(a.seed, b.seed);
  EXPECT_EQ(a.frame_index, b.frame_index);
  EXPECT_EQ(a.width, b.width);
  EXPECT_EQ(a.objects, b.objects);
  EXPECT_GE(a.seed, 1000u);
}

}  // namespace
}  // namespace streaminfer
