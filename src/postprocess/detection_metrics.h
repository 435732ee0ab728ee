#pragma once
// Detection accuracy against ground truth: COCO-style mAP and per-frame recall.
//
// Definition (the one pycocotools' COCOeval computes for bounding boxes, without its area ranges,
// crowd boxes or per-image detection cap):
//  - Per class c and IoU threshold t in {0.50, 0.55, ..., 0.95}: the detections of class c over all
//    images are ranked by descending score (ties keep the order in which they were added). Inside
//    its image, each detection in rank order is matched to the unmatched ground-truth box of class
//    c with the highest IoU, provided that IoU >= t; it is then a true positive, otherwise a false
//    positive. A second detection of an already matched object is therefore a false positive.
//  - Precision/recall after each ranked detection; precision is made monotone (running maximum
//    from the right) and sampled at the 101 recall points 0, 0.01, ..., 1: at each point r, the
//    precision of the first rank whose recall >= r, or 0 when recall never reaches r. AP(c, t) is
//    the mean of the 101 samples.
//  - mAP@t is the mean of AP(c, t) over the classes with ground truth. A class with ground truth
//    but no detections has AP 0; a class with detections but no ground truth is left out.
//    mAP@0.5:0.95 is the mean of mAP@t over the 10 thresholds. With no ground truth at all, both
//    are 0 and classes_with_ground_truth is 0: the figure is undefined, report it as such.
// Detections cut at a confidence threshold end the precision/recall curve early, so AP computed
// on them is a lower bound of the full-curve AP that evaluators usually quote (they keep
// detections down to a score of 0.001).
#include <cstdint>
#include <vector>

#include "streaminfer/geometry.h"

namespace streaminfer {

struct AccuracyResult {
  double map50 = 0;                       // mAP at IoU 0.5
  double map50_95 = 0;                    // mean of mAP over IoU 0.50:0.05:0.95
  std::vector<double> ap50_per_class;     // -1 for a class without ground truth
  std::vector<double> ap50_95_per_class;  // -1 for a class without ground truth
  int64_t images = 0;
  int64_t ground_truths = 0;
  int64_t detections = 0;
  int classes_with_ground_truth = 0;
};

// Accumulates images and computes AP at the end. Each add() matches its image's detections at all
// 10 thresholds right away and keeps 8 bytes per detection plus a count per class, so memory grows
// with detections, not with boxes or pixels, and result() only sorts and sums. Not thread-safe:
// one evaluator per thread (or a lock), merge() at the end.
class DetectionEvaluator {
 public:
  static constexpr int kThresholds = 10;  // IoU 0.50, 0.55, ..., 0.95

  explicit DetectionEvaluator(int num_classes);
  // One image: its detections (any order) and its ground truth, same pixel coordinates. Class ids
  // outside [0, num_classes) are ignored, and so are detections with a NaN score.
  void add(const std::vector<Detection>& detections,
           const std::vector<GroundTruthBox>& ground_truth);
  // As if every image added to `other` were added here after this evaluator's own images.
  // Both must have the same num_classes (the smaller one's classes are merged otherwise).
  void merge(const DetectionEvaluator& other);
  AccuracyResult result() const;
  int64_t images() const;
  int num_classes() const { return num_classes_; }

 private:
  // One ranked detection: its score, class and whether it was a true positive at each threshold
  // (bit i for threshold 0.50 + 0.05 i).
  struct ScoredMatch {
    float score = 0;
    uint16_t class_id = 0;
    uint16_t true_positive_bits = 0;
  };

  int num_classes_;
  int64_t images_ = 0;
  std::vector<ScoredMatch> matches_;
  std::vector<int64_t> ground_truth_per_class_;
};

// Fraction of ground-truth boxes matched (greedily by descending score) by a detection of the same
// class with IoU >= iou_threshold; 1 when there is no ground truth.
double frame_recall(const std::vector<Detection>& detections,
                    const std::vector<GroundTruthBox>& ground_truth, float iou_threshold = 0.5f);

}  // namespace streaminfer
