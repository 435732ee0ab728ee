#include "postprocess/yolo_decode.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <random>

#include "postprocess/synthetic_yolo_output.h"

namespace streaminfer {
namespace {

// B=2, nc=3, A=5, rows cx, cy, w, h, class 0, class 1, class 2.
std::vector<float> hand_output() {
  return {
      // frame 0
      10, 12, 100, 200, 300,          // cx
      10, 10, 100, 200, 300,          // cy
      20, 20, 40, 10, 50,             // w
      20, 20, 60, 10, 50,             // h
      0.9f, 0.1f, 0.05f, 0.3f, 0.2f,  // class 0
      0.1f, 0.8f, 0.6f, 0.1f, 0.2f,   // class 1
      0.0f, 0.85f, 0.7f, 0.2f, 0.1f,  // class 2
      // frame 1
      50, 52, 0, 0, 0,                  // cx
      50, 50, 0, 0, 0,                  // cy
      10, 10, 1, 1, 1,                  // w
      10, 10, 1, 1, 1,                  // h
      0.5f, 0.6f, 0.01f, 0.01f, 0.01f,  // class 0
      0.0f, 0.0f, 0.01f, 0.01f, 0.01f,  // class 1
      0.0f, 0.0f, 0.01f, 0.01f, 0.01f,  // class 2
  };
}

void expect_detection(const Detection& d, Box box, float score, int cls) {
  EXPECT_FLOAT_EQ(d.box.x1, box.x1);
  EXPECT_FLOAT_EQ(d.box.y1, box.y1);
  EXPECT_FLOAT_EQ(d.box.x2, box.x2);
  EXPECT_FLOAT_EQ(d.box.y2, box.y2);
  EXPECT_FLOAT_EQ(d.score, score);
  EXPECT_EQ(d.class_id, cls);
}

TEST(DecodeTest, HandComputedCase) {
  const auto out = hand_output();
  PostprocessOptions options;  // threshold 0.25, IoU 0.45, class-aware
  for (bool reference : {false, true}) {
    SCOPED_TRACE(reference ? "reference" : "fast");
    const auto r = reference ? decode_yolov8_reference(out.data(), 2, 7, 5, options)
                             : decode_yolov8(out.data(), 2, 7, 5, options);
    ASSERT_EQ(r.size(), 2u);
    // Anchor 4 (best 0.2) is under the threshold; anchors 0 and 1 overlap but differ in class.
    ASSERT_EQ(r[0].size(), 4u);
    expect_detection(r[0][0], {0, 0, 20, 20}, 0.9f, 0);
    expect_detection(r[0][1], {2, 0, 22, 20}, 0.85f, 2);
    expect_detection(r[0][2], {80, 70, 120, 130}, 0.7f, 2);
    expect_detection(r[0][3], {195, 195, 205, 205}, 0.3f, 0);
    // Same class, IoU 80/120: only the better one survives.
    ASSERT_EQ(r[1].size(), 1u);
    expect_detection(r[1][0], {47, 45, 57, 55}, 0.6f, 0);
  }
}

TEST(DecodeTest, ThresholdMaxDetectionsAndAgnostic) {
  const auto out = hand_output();
  PostprocessOptions low;
  low.score_threshold = 0.15f;
  auto r = decode_yolov8(out.data(), 2, 7, 5, low);
  ASSERT_EQ(r[0].size(), 5u);
  expect_detection(r[0][4], {275, 275, 325, 325}, 0.2f, 0);  // class tie 0/1: lower class wins

  PostprocessOptions capped;
  capped.max_detections = 2;
  r = decode_yolov8(out.data(), 2, 7, 5, capped);
  ASSERT_EQ(r[0].size(), 2u);
  EXPECT_FLOAT_EQ(r[0][1].score, 0.85f);

  PostprocessOptions agnostic;
  agnostic.class_agnostic = true;  // anchor 1 (IoU 360/440 with anchor 0) now goes
  r = decode_yolov8(out.data(), 2, 7, 5, agnostic);
  ASSERT_EQ(r[0].size(), 3u);
  EXPECT_FLOAT_EQ(r[0][1].score, 0.7f);

  PostprocessOptions high;
  high.score_threshold = 0.95f;
  r = decode_yolov8(out.data(), 2, 7, 5, high);
  EXPECT_TRUE(r[0].empty());
  EXPECT_TRUE(r[1].empty());

  EXPECT_TRUE(decode_yolov8(out.data(), 0, 7, 5, PostprocessOptions{}).empty());
}

TEST(DecodeTest, FastMatchesReferenceOnRealisticOutput) {
  for (unsigned seed = 1; seed <= 3; ++seed) {
    const auto out = realistic_yolov8_output(2, 80, 8400, seed);
    PostprocessOptions options;
    for (bool agnostic : {false, true}) {
      for (int max_candidates : {30000, 50}) {
        for (float threshold : {0.25f, 0.001f}) {
          options.class_agnostic = agnostic;
          options.max_candidates = max_candidates;
          options.score_threshold = threshold;
          const auto fast = decode_yolov8(out.data(), 2, 84, 8400, options);
          const auto ref = decode_yolov8_reference(out.data(), 2, 84, 8400, options);
          ASSERT_TRUE(same_detections(fast, ref)) << "seed " << seed << " agnostic " << agnostic
                                                  << " max_candidates " << max_candidates;
          if (threshold == 0.25f && max_candidates == 30000) {
            EXPECT_GT(fast[0].size(), 20u);
            for (const auto& frame : fast) {
              for (size_t i = 1; i < frame.size(); ++i) {
                EXPECT_GE(frame[i - 1].score, frame[i].score);
              }
            }
          }
        }
      }
    }
  }
}

TEST(YoloDecodeTest, CandidatesWithNonFiniteValuesAreLeftOutByBothVersions) {
  // B=1, nc=1, A=4: a good box, an infinite width, a NaN centre, an infinite score.
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> out = {
      10,   100,  200,  300,  // cx
      10,   100,  200,  300,  // cy
      4,    inf,  4,    4,    // w
      4,    4,    4,    4,    // h
      0.9f, 0.9f, 0.9f, inf,  // class 0
  };
  (void)nan;
  std::vector<float> with_nan = out;
  with_nan[2] = nan;  // cx of the third anchor
  PostprocessOptions options;
  const auto fast = decode_yolov8(with_nan.data(), 1, 5, 4, options);
  const auto reference = decode_yolov8_reference(with_nan.data(), 1, 5, 4, options);
  ASSERT_EQ(fast[0].size(), 1u);
  EXPECT_FLOAT_EQ(fast[0][0].box.x1, 8.0f);
  EXPECT_TRUE(same_detections(fast, reference));
}

}  // namespace
}  // namespace streaminfer
