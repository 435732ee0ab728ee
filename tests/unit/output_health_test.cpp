#include "postprocess/output_health.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace streaminfer {
namespace {

constexpr float kNan = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// One frame of a detector with nc = 2 and A = 3: rows cx, cy, w, h, class 0, class 1.
std::vector<float> frame(float w0, float score0) {
  return {10, 20, 30, 10, 20, 30, w0, 5, 5, 5, 5, 5, score0, 0.2f, 0.1f, 0.3f, 0.4f, 0.5f};
}

TEST(OutputHealth, CountsNonFiniteValuesAndTheScoreRange) {
  const auto good = frame(5, 0.9f);
  OutputHealth h = check_detector_output(good.data(), 6, 3);
  EXPECT_EQ(h.non_finite, 0);
  EXPECT_FLOAT_EQ(h.min_score, 0.1f);
  EXPECT_FLOAT_EQ(h.max_score, 0.9f);

  const auto broken = frame(kInf, kNan);
  h = check_detector_output(broken.data(), 6, 3);
  EXPECT_EQ(h.non_finite, 2);
  EXPECT_FLOAT_EQ(h.max_score, 0.5f) << "NaN takes no part in the range";

  const std::vector<float> logits = {1, -kInf, 3, kNan};
  EXPECT_EQ(check_logits(logits.data(), 4).non_finite, 2);
}

TEST(OutputHealthMonitor, SaysNonFiniteOncePerStreamAndCountsEveryFrame) {
  OutputHealthMonitor monitor("bad_model", /*detector=*/true);
  OutputHealth nan_frame;
  nan_frame.non_finite = 7;
  auto said = monitor.on_frame(0, 3, nan_frame);
  ASSERT_EQ(said.size(), 1u);
  EXPECT_NE(said[0].find("stream 0"), std::string::npos) << said[0];
  EXPECT_NE(said[0].find("bad_model"), std::string::npos) << said[0];
  EXPECT_NE(said[0].find("frame 3"), std::string::npos) << said[0];
  EXPECT_TRUE(monitor.on_frame(0, 4, nan_frame).empty());
  EXPECT_EQ(monitor.on_frame(1, 0, nan_frame).size(), 1u) << "each stream is told once";
  EXPECT_EQ(monitor.non_finite_frames(0), 2);
  EXPECT_EQ(monitor.non_finite_frames(1), 1);
  EXPECT_EQ(monitor.non_finite_frames(2), 0);
}

TEST(OutputHealthMonitor, ScoresOutsideZeroOneAreSaidOnceForTheRun) {
  OutputHealthMonitor monitor("raw_head", /*detector=*/true);
  OutputHealth sane;
  sane.min_score = 0.0f;
  sane.max_score = 1.0f;
  EXPECT_TRUE(monitor.on_frame(0, 0, sane).empty());
  OutputHealth raw;
  raw.min_score = -3.5f;
  raw.max_score = 1e9f;
  const auto said = monitor.on_frame(0, 1, raw);
  ASSERT_EQ(said.size(), 1u);
  EXPECT_NE(said[0].find("sigmoid"), std::string::npos) << said[0];
  EXPECT_TRUE(monitor.on_frame(1, 1, raw).empty());

  OutputHealthMonitor classifier("resnet", /*detector=*/false);
  EXPECT_TRUE(classifier.on_frame(0, 0, raw).empty()) << "logits have no range to keep";
}

}  // namespace
}  // namespace streaminfer
