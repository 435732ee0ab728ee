#include "postprocess/detection_metrics.h"

#include <gtest/gtest.h>

#include <random>
#include <stdexcept>

namespace streaminfer {
namespace {

Detection scored(float x1, float y1, float x2, float y2, float score, int cls) {
  return Detection{Box{x1, y1, x2, y2}, score, cls};
}
GroundTruthBox gt_box(float x1, float y1, float x2, float y2, int cls) {
  return GroundTruthBox{Box{x1, y1, x2, y2}, cls};
}

// AP is a mean of 101 samples; sums of fractions differ from the hand value by rounding only.
constexpr double kApTolerance = 1e-12;

TEST(DetectionEvaluatorTest, PerfectDetectionsScoreOne) {
  DetectionEvaluator evaluator(2);
  evaluator.add({scored(0, 0, 10, 10, 0.9f, 0), scored(20, 20, 40, 50, 0.3f, 1)},
                {gt_box(0, 0, 10, 10, 0), gt_box(20, 20, 40, 50, 1)});
  evaluator.add({scored(5, 5, 15, 25, 0.6f, 1)}, {gt_box(5, 5, 15, 25, 1)});
  const AccuracyResult r = evaluator.result();
  EXPECT_DOUBLE_EQ(r.map50, 1.0);
  EXPECT_DOUBLE_EQ(r.map50_95, 1.0);
  EXPECT_EQ(r.ap50_per_class, std::vector<double>({1.0, 1.0}));
  EXPECT_EQ(r.ap50_95_per_class, std::vector<double>({1.0, 1.0}));
  EXPECT_EQ(r.images, 2);
  EXPECT_EQ(r.ground_truths, 3);
  EXPECT_EQ(r.detections, 3);
  EXPECT_EQ(r.classes_with_ground_truth, 2);
  EXPECT_EQ(evaluator.images(), 2);
}

TEST(DetectionEvaluatorTest, NoDetectionsScoreZero) {
  DetectionEvaluator evaluator(3);
  evaluator.add({}, {gt_box(0, 0, 10, 10, 0), gt_box(0, 0, 10, 10, 2)});
  evaluator.add({}, {});
  const AccuracyResult r = evaluator.result();
  EXPECT_EQ(r.map50, 0.0);
  EXPECT_EQ(r.map50_95, 0.0);
  // Class 1 has no ground truth: left out (-1), not counted as 0.
  EXPECT_EQ(r.ap50_per_class, std::vector<double>({0.0, -1.0, 0.0}));
  EXPECT_EQ(r.images, 2);
  EXPECT_EQ(r.detections, 0);
  EXPECT_EQ(r.classes_with_ground_truth, 2);
}

TEST(DetectionEvaluatorTest, NoGroundTruthAtAllIsUndefinedAndReportedAsZeroClasses) {
  DetectionEvaluator evaluator(2);
  evaluator.add({scored(0, 0, 10, 10, 0.9f, 0)}, {});
  const AccuracyResult r = evaluator.result();
  EXPECT_EQ(r.classes_with_ground_truth, 0);
  EXPECT_EQ(r.map50, 0.0);
  EXPECT_EQ(r.ap50_per_class, std::vector<double>({-1.0, -1.0}));
  EXPECT_EQ(r.detections, 1);
}

TEST(DetectionEvaluatorTest, AllWrongClassScoresZero) {
  // Exact boxes, wrong class: class 0's AP is 0; class 1 has detections but no ground truth and is
  // left out, so mAP is 0 rather than 0.5.
  DetectionEvaluator evaluator(2);
  evaluator.add({scored(0, 0, 10, 10, 0.9f, 1)}, {gt_box(0, 0, 10, 10, 0)});
  const AccuracyResult r = evaluator.result();
  EXPECT_EQ(r.map50, 0.0);
  EXPECT_EQ(r.map50_95, 0.0);
  EXPECT_EQ(r.ap50_per_class, std::vector<double>({0.0, -1.0}));
  EXPECT_EQ(r.classes_with_ground_truth, 1);
}

TEST(DetectionEvaluatorTest, AllMisplacedScoresZero) {
  DetectionEvaluator evaluator(1);
  // IoU 0 and IoU 25/175 = 0.14: below every threshold.
  evaluator.add({scored(100, 100, 110, 110, 0.9f, 0), scored(5, 5, 15, 15, 0.8f, 0)},
                {gt_box(0, 0, 10, 10, 0)});
  const AccuracyResult r = evaluator.result();
  EXPECT_EQ(r.map50, 0.0);
  EXPECT_EQ(r.map50_95, 0.0);
}

TEST(DetectionEvaluatorTest, DuplicateBetweenTruePositivesIsAFalsePositive) {
  // Objects A and B; detections A (0.9), A again (0.8), B (0.7) -> TP, FP, TP.
  // Recall 1/2, 1/2, 1; precision 1, 1/2, 2/3 -> monotone 1, 2/3, 2/3.
  // Recall points 0..0.50 (51 of them) sample precision 1; 0.51..1 (50) sample 2/3.
  // AP = (51 + 50 * 2/3) / 101 = 253/303 at every threshold (the boxes are exact).
  DetectionEvaluator evaluator(1);
  evaluator.add({scored(0, 0, 10, 10, 0.9f, 0), scored(0, 0, 10, 10, 0.8f, 0),
                 scored(50, 50, 60, 60, 0.7f, 0)},
                {gt_box(0, 0, 10, 10, 0), gt_box(50, 50, 60, 60, 0)});
  const AccuracyResult r = evaluator.result();
  EXPECT_NEAR(r.map50, 253.0 / 303.0, kApTolerance);
  EXPECT_NEAR(r.map50_95, 253.0 / 303.0, kApTolerance);
  EXPECT_EQ(r.detections, 3);
}

TEST(DetectionEvaluatorTest, DuplicateBelowEveryTruePositiveCostsNothing) {
  // TP (0.9) then the duplicate (0.5): recall is already 1 at the first rank, so every recall point
  // samples precision 1. COCO's AP does not penalise a trailing false positive.
  DetectionEvaluator evaluator(1);
  evaluator.add({scored(0, 0, 10, 10, 0.5f, 0), scored(0, 0, 10, 10, 0.9f, 0)},
                {gt_box(0, 0, 10, 10, 0)});
  EXPECT_DOUBLE_EQ(evaluator.result().map50, 1.0);
}

TEST(DetectionEvaluatorTest, IouBetweenThresholdsCountsUpToIt) {
  // IoU 7200 / 10000 = 0.72: a match at 0.50, 0.55, 0.60, 0.65, 0.70 (AP 1), a false positive at
  // 0.75..0.95 (AP 0). mAP@0.5:0.95 = 5/10.
  DetectionEvaluator evaluator(1);
  evaluator.add({scored(100, 100, 200, 172, 0.9f, 0)}, {gt_box(100, 100, 200, 200, 0)});
  const AccuracyResult r = evaluator.result();
  EXPECT_DOUBLE_EQ(r.map50, 1.0);
  EXPECT_DOUBLE_EQ(r.map50_95, 0.5);
}

TEST(DetectionEvaluatorTest, IouExactlyAtThresholdMatches) {
  // IoU = 2 / 4 = 0.5 exactly in float: a match at 0.50 only.
  DetectionEvaluator evaluator(1);
  evaluator.add({scored(1, 0, 4, 1, 0.9f, 0)}, {gt_box(0, 0, 3, 1, 0)});
  const AccuracyResult r = evaluator.result();
  EXPECT_DOUBLE_EQ(r.map50, 1.0);
  EXPECT_DOUBLE_EQ(r.map50_95, 0.1);
}

TEST(DetectionEvaluatorTest, EachDetectionTakesTheUnmatchedTruthWithHighestIou) {
  // d1 overlaps A (IoU 70/130 = 0.54) and B (90/110 = 0.82) and must take B, leaving A to d2
  // (exact). Taking the first box above 0.5 instead would make d2 a false positive.
  DetectionEvaluator evaluator(1);
  evaluator.add({scored(3, 0, 13, 10, 0.9f, 0), scored(0, 0, 10, 10, 0.8f, 0)},
                {gt_box(0, 0, 10, 10, 0), gt_box(4, 0, 14, 10, 0)});
  EXPECT_DOUBLE_EQ(evaluator.result().map50, 1.0);
}

TEST(DetectionEvaluatorTest, MixedTwoClassesSeveralImages) {
  // Class 0, ground truth a, b (image 1) and c (image 2): 3 boxes.
  //   Ranked: a 0.9 TP, miss 0.8 FP (image 1), c 0.7 TP, miss 0.6 FP (image 2); b never found.
  //   Recall 1/3, 1/3, 2/3, 2/3; precision 1, 1/2, 2/3, 1/2 -> monotone 1, 2/3, 2/3, 1/2.
  //   Points 0..0.33 (34): 1; 0.34..0.66 (33): 2/3; 0.67..1 (34): never reached, 0.
  //   AP = (34 + 33 * 2/3) / 101 = 56/101 at every threshold (exact boxes, misses have IoU 0).
  // Class 1, ground truth d (image 2) and e (image 3): 2 boxes.
  //   Ranked: e 0.95 TP (exact), d 0.5 at IoU 0.72.
  //   t <= 0.70: TP, TP -> AP 1. t >= 0.75: TP, FP -> points 0..0.50 (51) sample 1 -> AP 51/101.
  //   AP50 = 1; AP50:95 = (5 + 5 * 51/101) / 10 = 76/101.
  // Class 2 has a detection and no ground truth: left out. Class 7 is out of range: ignored.
  // mAP50 = (56/101 + 1) / 2 = 157/202; mAP50:95 = (56/101 + 76/101) / 2 = 66/101.
  DetectionEvaluator evaluator(3);
  evaluator.add({scored(300, 300, 320, 320, 0.8f, 0), scored(0, 0, 10, 10, 0.9f, 0),
                 scored(0, 0, 10, 10, 0.4f, 2), scored(0, 0, 10, 10, 0.99f, 7)},
                {gt_box(0, 0, 10, 10, 0), gt_box(50, 50, 70, 70, 0)});
  evaluator.add({scored(100, 100, 200, 172, 0.5f, 1), scored(20, 20, 30, 40, 0.7f, 0),
                 scored(500, 0, 510, 10, 0.6f, 0)},
                {gt_box(20, 20, 30, 40, 0), gt_box(100, 100, 200, 200, 1), gt_box(0, 0, 5, 5, 9)});
  evaluator.add({scored(7, 7, 17, 27, 0.95f, 1)}, {gt_box(7, 7, 17, 27, 1)});
  const AccuracyResult r = evaluator.result();
  ASSERT_EQ(r.ap50_per_class.size(), 3u);
  EXPECT_NEAR(r.ap50_per_class[0], 56.0 / 101.0, kApTolerance);
  EXPECT_NEAR(r.ap50_per_class[1], 1.0, kApTolerance);
  EXPECT_EQ(r.ap50_per_class[2], -1.0);
  EXPECT_NEAR(r.ap50_95_per_class[0], 56.0 / 101.0, kApTolerance);
  EXPECT_NEAR(r.ap50_95_per_class[1], 76.0 / 101.0, kApTolerance);
  EXPECT_EQ(r.ap50_95_per_class[2], -1.0);
  EXPECT_NEAR(r.map50, 157.0 / 202.0, kApTolerance);
  EXPECT_NEAR(r.map50_95, 66.0 / 101.0, kApTolerance);
  EXPECT_EQ(r.images, 3);
  EXPECT_EQ(r.ground_truths, 5);  // the class-9 box is out of range
  EXPECT_EQ(r.detections, 7);     // the class-7 detection is out of range
  EXPECT_EQ(r.classes_with_ground_truth, 2);
}

// Random images with boxes near the ground truth, so that matches, misses and duplicates mix.
void add_random_images(std::mt19937& rng, int count, DetectionEvaluator& a, DetectionEvaluator* b) {
  std::uniform_real_distribution<float> pos(0, 200), size(5, 40), jitter(-4, 4), score(0, 1);
  std::uniform_int_distribution<int> cls(0, 2), boxes(0, 5);
  for (int i = 0; i < count; ++i) {
    std::vector<GroundTruthBox> truth;
    std::vector<Detection> dets;
    const int n = boxes(rng);
    for (int k = 0; k < n; ++k) {
      const float x = pos(rng), y = pos(rng), w = size(rng), h = size(rng);
      truth.push_back(gt_box(x, y, x + w, y + h, cls(rng)));
      for (int copies = boxes(rng) % 3; copies > 0; --copies) {
        const float dx = jitter(rng), dy = jitter(rng);
        dets.push_back(scored(x + dx, y + dy, x + w + dx, y + h + dy, score(rng), cls(rng)));
      }
    }
    a.add(dets, truth);
    if (b != nullptr) b->add(dets, truth);
  }
}

TEST(DetectionEvaluatorTest, MergeEqualsAddingEverythingToOne) {
  std::mt19937 rng(7);
  DetectionEvaluator all(3), first(3), second(3);
  add_random_images(rng, 40, first, &all);
  add_random_images(rng, 60, second, &all);
  first.merge(second);
  const AccuracyResult merged = first.result(), direct = all.result();
  EXPECT_EQ(merged.map50, direct.map50);
  EXPECT_EQ(merged.map50_95, direct.map50_95);
  EXPECT_EQ(merged.ap50_per_class, direct.ap50_per_class);
  EXPECT_EQ(merged.ap50_95_per_class, direct.ap50_95_per_class);
  EXPECT_EQ(merged.images, 100);
  EXPECT_EQ(merged.ground_truths, direct.ground_truths);
  EXPECT_EQ(merged.detections, direct.detections);
  // The random data is neither perfect nor hopeless, so the comparison above is not vacuous.
  EXPECT_GT(direct.map50, 0.05);
  EXPECT_LT(direct.map50, 0.95);
  EXPECT_LT(direct.map50_95, direct.map50);
}

TEST(DetectionEvaluatorTest, RejectsNegativeClassCount) {
  EXPECT_THROW(DetectionEvaluator(-1), std::invalid_argument);
}

TEST(FrameRecallTest, NoGroundTruthIsOne) {
  EXPECT_EQ(frame_recall({scored(0, 0, 10, 10, 0.9f, 0)}, {}), 1.0);
  EXPECT_EQ(frame_recall({}, {}), 1.0);
}

TEST(FrameRecallTest, CountsMatchedTruthOfTheSameClass) {
  const std::vector<GroundTruthBox> truth = {gt_box(0, 0, 10, 10, 0), gt_box(50, 50, 60, 60, 1),
                                             gt_box(100, 100, 110, 110, 0),
                                             gt_box(0, 50, 10, 60, 2)};
  // One exact, one of the wrong class, one misplaced, one missing.
  const std::vector<Detection> dets = {scored(0, 0, 10, 10, 0.9f, 0),
                                       scored(50, 50, 60, 60, 0.8f, 0),
                                       scored(130, 130, 140, 140, 0.7f, 0)};
  EXPECT_DOUBLE_EQ(frame_recall(dets, truth), 0.25);
  EXPECT_EQ(frame_recall({}, truth), 0.0);
}

TEST(FrameRecallTest, DuplicatesMatchOnce) {
  const std::vector<GroundTruthBox> truth = {gt_box(0, 0, 10, 10, 0), gt_box(50, 50, 60, 60, 0)};
  EXPECT_DOUBLE_EQ(
      frame_recall({scored(0, 0, 10, 10, 0.9f, 0), scored(0, 0, 10, 10, 0.8f, 0)}, truth), 0.5);
}

TEST(FrameRecallTest, ThresholdDecides) {
  const std::vector<GroundTruthBox> truth = {gt_box(100, 100, 200, 200, 0)};
  const std::vector<Detection> dets = {scored(100, 100, 200, 172, 0.9f, 0)};  // IoU 0.72
  EXPECT_EQ(frame_recall(dets, truth), 1.0);
  EXPECT_EQ(frame_recall(dets, truth, 0.7f), 1.0);
  EXPECT_EQ(frame_recall(dets, truth, 0.75f), 0.0);
}

}  // namespace
}  // namespace streaminfer
