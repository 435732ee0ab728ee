#include "profile/change_point.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <vector>

namespace streaminfer {
namespace {

// `level` at every index, plus normal noise of standard deviation `sd` (fixed seed).
std::vector<double> noisy(const std::vector<std::pair<size_t, double>>& levels, size_t n, double sd,
                          unsigned seed = 7) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, sd);
  std::vector<double> x(n);
  for (size_t i = 0; i < n; ++i) {
    double level = levels.front().second;
    for (const auto& [from, value] : levels) {
      if (i >= from) level = value;
    }
    x[i] = level + (sd > 0 ? noise(rng) : 0.0);
  }
  return x;
}

TEST(ChangePointTest, FlatSeriesHasNoStep) {
  const auto cp = detect_change_points(std::vector<double>(300, 12.5));
  ASSERT_EQ(cp.segments.size(), 1u);
  EXPECT_TRUE(cp.steps.empty());
  EXPECT_EQ(cp.segments[0].begin, 0u);
  EXPECT_EQ(cp.segments[0].end, 300u);
  EXPECT_DOUBLE_EQ(cp.segments[0].median, 12.5);
}

TEST(ChangePointTest, NoisyFlatSeriesHasNoStep) {
  for (unsigned seed = 1; seed <= 5; ++seed) {
    const auto cp = detect_change_points(noisy({{0, 20.0}}, 300, 1.0, seed));
    EXPECT_TRUE(cp.steps.empty()) << "seed " << seed << ": " << describe_step(cp.steps[0]);
  }
}

TEST(ChangePointTest, EmptyAndShortSeriesHaveNoStep) {
  EXPECT_TRUE(detect_change_points({}).segments.empty());
  const auto cp = detect_change_points({1, 1, 1, 9, 9, 9});  // shorter than 2 * min_segment
  ASSERT_EQ(cp.segments.size(), 1u);
  EXPECT_TRUE(cp.steps.empty());
}

TEST(ChangePointTest, CleanStepIsFoundWithItsLevels) {
  const auto cp = detect_change_points(noisy({{0, 10.0}, {140, 18.0}}, 300, 0.0));
  ASSERT_EQ(cp.steps.size(), 1u);
  EXPECT_EQ(cp.steps[0].iteration, 140u);
  EXPECT_DOUBLE_EQ(cp.steps[0].before, 10.0);
  EXPECT_DOUBLE_EQ(cp.steps[0].after, 18.0);
  EXPECT_NEAR(cp.steps[0].relative(), 0.8, 1e-12);
  EXPECT_EQ(describe_step(cp.steps[0]),
            "latency stepped from 10.00 ms to 18.00 ms at iteration 140 (+80%)");
}

TEST(ChangePointTest, NoisyStepIsFoundWithinAFewIterations) {
  const auto cp = detect_change_points(noisy({{0, 30.0}, {170, 40.0}}, 300, 2.0));
  ASSERT_EQ(cp.steps.size(), 1u);
  EXPECT_NEAR(static_cast<double>(cp.steps[0].iteration), 170.0, 3.0);
  EXPECT_NEAR(cp.steps[0].before, 30.0, 1.0);
  EXPECT_NEAR(cp.steps[0].after, 40.0, 1.0);
}

TEST(ChangePointTest, TwoStepsAreBothFound) {
  const auto cp = detect_change_points(noisy({{0, 10.0}, {100, 20.0}, {220, 14.0}}, 300, 0.5));
  ASSERT_EQ(cp.steps.size(), 2u);
  EXPECT_NEAR(static_cast<double>(cp.steps[0].iteration), 100.0, 3.0);
  EXPECT_NEAR(static_cast<double>(cp.steps[1].iteration), 220.0, 3.0);
  EXPECT_NEAR(cp.steps[0].before, 10.0, 0.5);
  EXPECT_NEAR(cp.steps[0].after, 20.0, 0.5);
  EXPECT_NEAR(cp.steps[1].after, 14.0, 0.5);
  ASSERT_EQ(cp.segments.size(), 3u);
  EXPECT_EQ(cp.segments.back().end, 300u);
}

// A short burst in the middle: a single split cannot see it (both sides have the same median),
// an optimal partition does.
TEST(ChangePointTest, ShortBurstGivesAStepUpAndBack) {
  const auto cp = detect_change_points(noisy({{0, 10.0}, {140, 25.0}, {160, 10.0}}, 300, 0.5));
  ASSERT_EQ(cp.steps.size(), 2u);
  EXPECT_NEAR(static_cast<double>(cp.steps[0].iteration), 140.0, 2.0);
  EXPECT_NEAR(static_cast<double>(cp.steps[1].iteration), 160.0, 2.0);
}

TEST(ChangePointTest, SingleSpikeIsNotAStep) {
  auto x = noisy({{0, 15.0}}, 300, 0.5);
  x[150] = 400.0;
  const auto cp = detect_change_points(x);
  EXPECT_TRUE(cp.steps.empty()) << describe_step(cp.steps[0]);
}

TEST(ChangePointTest, ScatteredSpikesAreNotSteps) {
  auto x = noisy({{0, 15.0}}, 300, 0.5);
  for (size_t i = 7; i < x.size(); i += 23) x[i] *= 3.0;  // a slow iteration every 23
  EXPECT_TRUE(detect_change_points(x).steps.empty());
}

TEST(ChangePointTest, StepsBelowTheThresholdAreNotReported) {
  const auto x = noisy({{0, 20.0}, {150, 22.0}}, 300, 0.2);  // +10%
  EXPECT_TRUE(detect_change_points(x).steps.empty());
  ChangePointOptions fine;
  fine.min_relative_step = 0.05;
  const auto cp = detect_change_points(x, fine);
  ASSERT_EQ(cp.steps.size(), 1u);
  EXPECT_NEAR(static_cast<double>(cp.steps[0].iteration), 150.0, 3.0);
}

TEST(ChangePointTest, SegmentsAreNeverShorterThanTheMinimum) {
  ChangePointOptions options;
  options.min_segment = 25;
  const auto cp =
      detect_change_points(noisy({{0, 10.0}, {20, 30.0}, {200, 10.0}}, 300, 0.5), options);
  for (const auto& segment : cp.segments) EXPECT_GE(segment.end - segment.begin, 25u);
}

TEST(ChangePointTest, MedianOf) {
  EXPECT_DOUBLE_EQ(median_of({}), 0.0);
  EXPECT_DOUBLE_EQ(median_of({3, 1, 2}), 2.0);
  EXPECT_DOUBLE_EQ(median_of({4, 1, 3, 2}), 2.5);
}

}  // namespace
}  // namespace streaminfer
