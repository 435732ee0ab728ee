// The naive per-anchor LibTorch loop of `bench postprocess` must keep exactly what the engine's
// vectorized decode keeps, or its timing compares different work.
#include "bench/naive_postprocess.h"

#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>
#include <torch/types.h>

#include "postprocess/synthetic_yolo_output.h"

namespace streaminfer {
namespace {

void expect_same(const std::vector<std::vector<Detection>>& naive,
                 const std::vector<std::vector<Detection>>& fast) {
  ASSERT_EQ(naive.size(), fast.size());
  for (size_t f = 0; f < fast.size(); ++f) {
    ASSERT_EQ(naive[f].size(), fast[f].size()) << "frame " << f;
    for (size_t i = 0; i < fast[f].size(); ++i) {
      const Detection &a = naive[f][i], &b = fast[f][i];
      EXPECT_EQ(a.box.x1, b.box.x1);
      EXPECT_EQ(a.box.y1, b.box.y1);
      EXPECT_EQ(a.box.x2, b.box.x2);
      EXPECT_EQ(a.box.y2, b.box.y2);
      EXPECT_EQ(a.score, b.score);
      EXPECT_EQ(a.class_id, b.class_id) << "frame " << f << " detection " << i;
    }
  }
}

TEST(NaivePostprocess, KeepsWhatTheVectorizedDecodeKeeps) {
  c10::InferenceMode guard;
  const int batch = 2, nc = 80, anchors = 8400;
  auto output = realistic_yolov8_output(batch, nc, anchors, 7);
  const auto tensor = torch::from_blob(output.data(), {batch, 4 + nc, anchors});
  for (bool agnostic : {false, true}) {
    for (float threshold : {0.25f, 0.6f}) {
      SCOPED_TRACE(testing::Message() << "agnostic " << agnostic << " threshold " << threshold);
      PostprocessOptions options;
      options.class_agnostic = agnostic;
      options.score_threshold = threshold;
      const auto fast = decode_yolov8(output.data(), batch, 4 + nc, anchors, options);
      ASSERT_GT(fast[0].size(), 10u);  // the case has real work for NMS
      expect_same(decode_yolov8_naive(tensor, options), fast);
    }
  }
}

TEST(NaivePostprocess, MaxDetectionsCapsEachFrame) {
  c10::InferenceMode guard;
  auto output = realistic_yolov8_output(1, 80, 8400, 3);
  const auto tensor = torch::from_blob(output.data(), {1, 84, 8400});
  PostprocessOptions options;
  options.max_detections = 5;
  const auto naive = decode_yolov8_naive(tensor, options);
  ASSERT_EQ(naive[0].size(), 5u);
  expect_same(naive, decode_yolov8(output.data(), 1, 84, 8400, options));
}

}  // namespace
}  // namespace streaminfer
