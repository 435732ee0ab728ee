#include "profile/latency_histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace streaminfer {
namespace {

double exact_percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const auto rank = std::max<size_t>(
      1, static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size()))));
  return values[rank - 1];
}

void expect_close(double actual, double expected) {
  EXPECT_NEAR(actual, expected, 0.01 * expected) << "expected " << expected;
}

TEST(LatencyHistogramTest, EmptyIsAllZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0);
  EXPECT_EQ(h.mean(), 0.0);
  EXPECT_EQ(h.min(), 0.0);
  EXPECT_EQ(h.max(), 0.0);
  EXPECT_EQ(h.percentile(50), 0.0);
}

TEST(LatencyHistogramTest, UniformPercentilesWithinOnePercent) {
  LatencyHistogram h;
  for (int i = 1; i <= 1000; ++i) h.add(i);
  EXPECT_EQ(h.count(), 1000);
  EXPECT_DOUBLE_EQ(h.mean(), 500.5);
  EXPECT_EQ(h.min(), 1.0);
  EXPECT_EQ(h.max(), 1000.0);
  expect_close(h.percentile(50), 500);
  expect_close(h.percentile(95), 950);
  expect_close(h.percentile(99), 990);
  expect_close(h.percentile(10), 100);
  EXPECT_EQ(h.percentile(100), 1000.0);
  EXPECT_EQ(h.percentile(0), 1.0);
}

template <typename Distribution>
void check_against_exact(Distribution distribution) {
  std::mt19937_64 rng(42);
  LatencyHistogram h;
  std::vector<double> values;
  for (int i = 0; i < 20000; ++i) {
    const double v = distribution(rng);
    values.push_back(v);
    h.add(v);
  }
  for (double p : {1.0, 25.0, 50.0, 90.0, 95.0, 99.0, 99.9}) {
    SCOPED_TRACE(p);
    expect_close(h.percentile(p), exact_percentile(values, p));
  }
  EXPECT_EQ(h.min(), *std::min_element(values.begin(), values.end()));
  EXPECT_EQ(h.max(), *std::max_element(values.begin(), values.end()));
}

TEST(LatencyHistogramTest, ExponentialWithinOnePercent) {
  check_against_exact(std::exponential_distribution<double>(1.0 / 20.0));  // mean 20 ms
}

TEST(LatencyHistogramTest, LognormalAcrossDecadesWithinOnePercent) {
  check_against_exact(std::lognormal_distribution<double>(0.0, 2.0));
}

TEST(LatencyHistogramTest, TinyAndHugeValues) {
  LatencyHistogram h;
  h.add(0.0002);  // below 1 us: the underflow bucket
  h.add(-5);      // clamped to 0
  h.add(5e6);     // beyond the top bucket
  EXPECT_EQ(h.count(), 3);
  EXPECT_EQ(h.min(), 0.0);
  EXPECT_EQ(h.max(), 5e6);
  EXPECT_GE(h.percentile(50), 0.0);
  EXPECT_LE(h.percentile(50), 0.001);
}

TEST(LatencyHistogramTest, MergeEqualsAddingEverything) {
  LatencyHistogram a, b, all;
  for (int i = 1; i <= 500; ++i) {
    a.add(i * 0.1);
    all.add(i * 0.1);
  }
  for (int i = 1; i <= 300; ++i) {
    b.add(100 + i);
    all.add(100 + i);
  }
  LatencyHistogram empty;
  a.merge(empty);
  a.merge(b);
  EXPECT_EQ(a.count(), 800);
  EXPECT_DOUBLE_EQ(a.sum(), all.sum());
  EXPECT_EQ(a.min(), 0.1);
  EXPECT_EQ(a.max(), 400.0);
  for (double p : {10.0, 50.0, 90.0, 99.0}) EXPECT_EQ(a.percentile(p), all.percentile(p));

  empty.merge(b);  // into an empty histogram: min/max come from the other one
  EXPECT_EQ(empty.min(), 101.0);
  EXPECT_EQ(empty.max(), 400.0);
}

}  // namespace
}  // namespace streaminfer
