#include "postprocess/nms.h"

#include <gtest/gtest.h>

#include <random>

namespace streaminfer {
namespace {

Detection det(float x1, float y1, float x2, float y2, float score, int cls) {
  return Detection{Box{x1, y1, x2, y2}, score, cls};
}

TEST(NmsTest, OverlappingSameClassKeepsBest) {
  const std::vector<Detection> d = {det(0, 0, 10, 10, 0.6f, 0), det(1, 1, 11, 11, 0.9f, 0)};
  EXPECT_EQ(nms(d, 0.45f, false, 100), std::vector<int>({1}));
  EXPECT_EQ(nms_reference(d, 0.45f, false, 100), std::vector<int>({1}));
}

TEST(NmsTest, DifferentClassesBothKeptUnlessAgnostic) {
  const std::vector<Detection> d = {det(0, 0, 10, 10, 0.6f, 0), det(1, 1, 11, 11, 0.9f, 1)};
  EXPECT_EQ(nms(d, 0.45f, false, 100), std::vector<int>({1, 0}));
  EXPECT_EQ(nms_reference(d, 0.45f, false, 100), std::vector<int>({1, 0}));
  EXPECT_EQ(nms(d, 0.45f, true, 100), std::vector<int>({1}));
  EXPECT_EQ(nms_reference(d, 0.45f, true, 100), std::vector<int>({1}));
}

TEST(NmsTest, IouExactlyAtThresholdIsKept) {
  // IoU = 2 / 4 = 0.5 exactly in float.
  const std::vector<Detection> d = {det(0, 0, 3, 1, 0.9f, 0), det(1, 0, 4, 1, 0.8f, 0)};
  EXPECT_EQ(nms(d, 0.5f, false, 100), std::vector<int>({0, 1}));
  EXPECT_EQ(nms_reference(d, 0.5f, false, 100), std::vector<int>({0, 1}));
  EXPECT_EQ(nms(d, 0.49f, false, 100), std::vector<int>({0}));
}

TEST(NmsTest, TiesBreakOnLowerIndexAndMaxKeepTruncates) {
  const std::vector<Detection> d = {det(0, 0, 10, 10, 0.5f, 0), det(20, 0, 30, 10, 0.5f, 0),
                                    det(40, 0, 50, 10, 0.7f, 0), det(0, 0, 10, 10, 0.5f, 1)};
  EXPECT_EQ(nms(d, 0.5f, false, -1), std::vector<int>({2, 0, 1, 3}));
  EXPECT_EQ(nms(d, 0.5f, false, 2), std::vector<int>({2, 0}));
  EXPECT_EQ(nms_reference(d, 0.5f, false, 2), std::vector<int>({2, 0}));
  EXPECT_TRUE(nms(d, 0.5f, false, 0).empty());
  EXPECT_TRUE(nms({}, 0.5f, false, 10).empty());
  // Identical boxes, equal score, agnostic: the lower index survives.
  EXPECT_EQ(nms(d, 0.5f, true, -1), std::vector<int>({2, 0, 1}));
}

// Clustered boxes with coarse scores, so that there are many overlaps and many exact score ties.
std::vector<Detection> random_detections(std::mt19937& rng, int n, int classes) {
  std::uniform_real_distribution<float> centre(0.0f, 640.0f);
  std::uniform_real_distribution<float> size(4.0f, 120.0f);
  std::uniform_real_distribution<float> jitter(-8.0f, 8.0f);
  std::uniform_int_distribution<int> score_step(1, 20);
  std::uniform_int_distribution<int> cls(0, classes - 1);
  std::vector<Detection> out;
  while (static_cast<int>(out.size()) < n) {
    const float cx = centre(rng), cy = centre(rng), w = size(rng), h = size(rng);
    const int cluster = std::min(n - static_cast<int>(out.size()), 1 + score_step(rng) % 8);
    for (int i = 0; i < cluster; ++i) {
      const float x = cx + jitter(rng), y = cy + jitter(rng);
      out.push_back(
          det(x - w / 2, y - h / 2, x + w / 2, y + h / 2, score_step(rng) * 0.05f, cls(rng)));
    }
  }
  return out;
}

TEST(NmsTest, FastMatchesReferenceOnRandomBoxes) {
  const int sizes[] = {10, 100, 500, 3000};
  const float thresholds[] = {0.0f, 0.3f, 0.45f, 0.7f, 1.0f};
  for (unsigned seed = 1; seed <= 4; ++seed) {
    std::mt19937 rng(seed);
    for (int n : sizes) {
      for (int classes : {1, 3, 80}) {
        const auto d = random_detections(rng, n, classes);
        for (float threshold : thresholds) {
          for (bool agnostic : {false, true}) {
            for (int max_keep : {-1, 5, 300}) {
              // The reference is O(n^2) per kept box: at n = 3000 check a representative subset.
              if (n == 3000 && (seed > 2 || classes == 3 || threshold == 1.0f)) continue;
              const auto fast = nms(d, threshold, agnostic, max_keep);
              const auto ref = nms_reference(d, threshold, agnostic, max_keep);
              ASSERT_EQ(fast, ref)
                  << "seed " << seed << " n " << n << " classes " << classes << " thr " << threshold
                  << " agnostic " << agnostic << " max_keep " << max_keep;
            }
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace streaminfer
