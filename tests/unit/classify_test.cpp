// Classifier postprocessing: softmax probabilities of the top classes, against a direct
// computation on random logits.
#include "postprocess/classify.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace streaminfer {
namespace {

TEST(TopKClasses, MatchesDirectSoftmaxOnRandomLogits) {
  constexpr int kBatch = 3, kClasses = 1000, kTop = 5;
  std::mt19937 rng(42);
  std::normal_distribution<float> normal(0.0f, 4.0f);
  std::vector<float> logits(kBatch * kClasses);
  for (auto& v : logits) v = normal(rng);
  const auto top = top_k_classes(logits.data(), kBatch, kClasses, kTop);
  ASSERT_EQ(top.size(), static_cast<size_t>(kBatch));
  for (int b = 0; b < kBatch; ++b) {
    const float* row = logits.data() + b * kClasses;
    double sum = 0;
    for (int c = 0; c < kClasses; ++c) sum += std::exp(static_cast<double>(row[c]));
    std::vector<int> order(kClasses);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [row](int x, int y) { return row[x] > row[y]; });
    ASSERT_EQ(top[b].size(), static_cast<size_t>(kTop));
    for (int i = 0; i < kTop; ++i) {
      EXPECT_EQ(top[b][i].class_id, order[i]) << "frame " << b << " rank " << i;
      EXPECT_NEAR(top[b][i].score, std::exp(static_cast<double>(row[order[i]])) / sum, 1e-6);
    }
  }
}

TEST(TopKClasses, LargeLogitsDoNotOverflow) {
  const std::vector<float> logits = {1000.0f, 1000.0f + std::log(3.0f), -1000.0f};
  const auto top = top_k_classes(logits.data(), 1, 3, 5);
  ASSERT_EQ(top[0].size(), 3u) << "k is capped at the number of classes";
  EXPECT_EQ(top[0][0].class_id, 1);
  EXPECT_NEAR(top[0][0].score, 0.75, 1e-4);
  EXPECT_EQ(top[0][1].class_id, 0);
  EXPECT_NEAR(top[0][1].score, 0.25, 1e-4);
  EXPECT_EQ(top[0][2].class_id, 2);
  EXPECT_GE(top[0][2].score, 0.0f);
}

TEST(TopKClasses, TiesGoToTheLowerClassAndNonFiniteRowsHaveNoClasses) {
  const std::vector<float> logits = {2,
                                     2,
                                     2,
                                     2,
                                     /* second frame */ 1,
                                     NAN,
                                     3,
                                     0,
                                     /* third frame */ 1,
                                     INFINITY,
                                     3,
                                     0};
  const auto top = top_k_classes(logits.data(), 3, 4, 2);
  ASSERT_EQ(top[0].size(), 2u);
  EXPECT_EQ(top[0][0].class_id, 0);
  EXPECT_EQ(top[0][1].class_id, 1);
  EXPECT_FLOAT_EQ(top[0][0].score, 0.25f);
  EXPECT_TRUE(top[1].empty()) << "a NaN logit has no probability";
  EXPECT_TRUE(top[2].empty()) << "softmax of an infinite logit is NaN";
}

}  // namespace
}  // namespace streaminfer
