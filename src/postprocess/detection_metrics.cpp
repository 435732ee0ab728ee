#include "postprocess/detection_metrics.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <stdexcept>
#include <string>

namespace streaminfer {
namespace {

// Float, as IoU is: 0.50f ... 0.95f compare with a float IoU the way the decimal values read
// (an IoU of 0.72 counts at 0.70 and not at 0.75).
constexpr std::array<float, DetectionEvaluator::kThresholds> kIouThresholds = {
    0.50f, 0.55f, 0.60f, 0.65f, 0.70f, 0.75f, 0.80f, 0.85f, 0.90f, 0.95f};
constexpr int kRecallPoints = 101;

bool valid_class(int class_id, int num_classes) { return class_id >= 0 && class_id < num_classes; }

// Indices of `detections` whose class passes `keep`, by descending score (ties: lower index
// first, i.e. the order they were given in).
template <typename Keep>
std::vector<int> ranked(const std::vector<Detection>& detections, Keep keep) {
  std::vector<int> order;
  order.reserve(detections.size());
  for (size_t i = 0; i < detections.size(); ++i) {
    if (keep(detections[i])) order.push_back(static_cast<int>(i));
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return detections[a].score > detections[b].score; });
  return order;
}

// Greedy matching of ranked detections (one class) to ground truth (same class) at one IoU
// threshold, given the IoU matrix ious[d * gts + g]: each detection takes the unmatched ground
// truth with the highest IoU >= threshold (ties: the first). Calls on_match(d, matched).
template <typename OnMatch>
void match_greedily(const std::vector<float>& ious, size_t dets, size_t gts, float threshold,
                    std::vector<char>& taken, OnMatch on_match) {
  taken.assign(gts, 0);
  for (size_t d = 0; d < dets; ++d) {
    int best = -1;
    float best_iou = threshold;
    for (size_t g = 0; g < gts; ++g) {
      const float v = ious[d * gts + g];
      if (taken[g] || v < best_iou) continue;
      if (best >= 0 && v == best_iou) continue;  // keep the first of equal IoUs
      best = static_cast<int>(g);
      best_iou = v;
    }
    if (best >= 0) taken[best] = 1;
    on_match(d, best >= 0);
  }
}

// COCO's AP from ranked true-positive flags: monotone precision sampled at 101 recall points.
double average_precision(const std::vector<char>& true_positive, int64_t ground_truths) {
  if (ground_truths == 0) return -1;
  const size_t n = true_positive.size();
  std::vector<double> precision(n), recall(n);
  int64_t tp = 0;
  for (size_t i = 0; i < n; ++i) {
    tp += true_positive[i];
    precision[i] = static_cast<double>(tp) / static_cast<double>(i + 1);
    recall[i] = static_cast<double>(tp) / static_cast<double>(ground_truths);
  }
  for (size_t i = n; i-- > 1;) precision[i - 1] = std::max(precision[i - 1], precision[i]);
  double sum = 0;
  size_t rank = 0;
  for (int r = 0; r < kRecallPoints; ++r) {
    // i / 100.0 and tp / gt are both correctly rounded, so equal fractions compare equal.
    const double point = r / static_cast<double>(kRecallPoints - 1);
    while (rank < n && recall[rank] < point) ++rank;  // recall is non-decreasing
    if (rank == n) break;                             // never reached: this and later points are 0
    sum += precision[rank];
  }
  return sum / kRecallPoints;
}

}  // namespace

DetectionEvaluator::DetectionEvaluator(int num_classes)
    : num_classes_(num_classes), ground_truth_per_class_(std::max(num_classes, 0), 0) {
  if (num_classes < 0 || num_classes > 65535) {
    throw std::invalid_argument("DetectionEvaluator: num_classes must be in [0, 65535], got " +
                                std::to_string(num_classes));
  }
}

void DetectionEvaluator::add(const std::vector<Detection>& detections,
                             const std::vector<GroundTruthBox>& ground_truth) {
  ++images_;
  // Detections by class, by descending score inside each class (both sorts stable).
  std::vector<int> order = ranked(detections, [&](const Detection& d) {
    return valid_class(d.class_id, num_classes_) && !std::isnan(d.score);
  });
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return detections[a].class_id < detections[b].class_id; });
  // Ground truth by class (stable: ties in IoU go to the box listed first).
  std::vector<int> gt_order;
  gt_order.reserve(ground_truth.size());
  for (size_t i = 0; i < ground_truth.size(); ++i) {
    if (!valid_class(ground_truth[i].class_id, num_classes_)) continue;
    gt_order.push_back(static_cast<int>(i));
    ++ground_truth_per_class_[ground_truth[i].class_id];
  }
  std::stable_sort(gt_order.begin(), gt_order.end(), [&](int a, int b) {
    return ground_truth[a].class_id < ground_truth[b].class_id;
  });

  // The image's matches, class by class in rank order: result() ranks them all again by score
  // (stable), which keeps this order among a class's equal scores.
  std::vector<int> class_dets;
  std::vector<float> ious;
  std::vector<char> taken;
  std::vector<uint16_t> bits;
  for (size_t next = 0; next < order.size();) {
    const int cls = detections[order[next]].class_id;
    class_dets.clear();
    while (next < order.size() && detections[order[next]].class_id == cls) {
      class_dets.push_back(order[next++]);
    }
    const auto gt_begin =
        std::lower_bound(gt_order.begin(), gt_order.end(), cls,
                         [&](int g, int c) { return ground_truth[g].class_id < c; });
    auto gt_end = gt_begin;
    while (gt_end != gt_order.end() && ground_truth[*gt_end].class_id == cls) ++gt_end;
    const size_t gts = static_cast<size_t>(gt_end - gt_begin);
    ious.resize(class_dets.size() * gts);
    for (size_t d = 0; d < class_dets.size(); ++d) {
      for (size_t g = 0; g < gts; ++g) {
        ious[d * gts + g] = iou(detections[class_dets[d]].box, ground_truth[gt_begin[g]].box);
      }
    }
    bits.assign(class_dets.size(), 0);
    for (int t = 0; t < kThresholds; ++t) {
      match_greedily(ious, class_dets.size(), gts, kIouThresholds[t], taken,
                     [&](size_t d, bool matched) {
                       if (matched) bits[d] |= static_cast<uint16_t>(1u << t);
                     });
    }
    for (size_t d = 0; d < class_dets.size(); ++d) {
      matches_.push_back(
          ScoredMatch{detections[class_dets[d]].score, static_cast<uint16_t>(cls), bits[d]});
    }
  }
}

void DetectionEvaluator::merge(const DetectionEvaluator& other) {
  images_ += other.images_;
  matches_.reserve(matches_.size() + other.matches_.size());
  for (const ScoredMatch& m : other.matches_) {
    if (m.class_id < num_classes_) matches_.push_back(m);
  }
  const size_t shared =
      std::min(ground_truth_per_class_.size(), other.ground_truth_per_class_.size());
  for (size_t c = 0; c < shared; ++c) {
    ground_truth_per_class_[c] += other.ground_truth_per_class_[c];
  }
}

int64_t DetectionEvaluator::images() const { return images_; }

AccuracyResult DetectionEvaluator::result() const {
  AccuracyResult result;
  result.images = images_;
  result.detections = static_cast<int64_t>(matches_.size());
  result.ground_truths =
      std::accumulate(ground_truth_per_class_.begin(), ground_truth_per_class_.end(), int64_t{0});
  result.ap50_per_class.assign(num_classes_, -1);
  result.ap50_95_per_class.assign(num_classes_, -1);

  // Global ranking: descending score, ties in the order added (images in order, then rank).
  std::vector<uint32_t> order(matches_.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return matches_[a].score > matches_[b].score; });
  std::vector<std::vector<uint16_t>> bits_by_class(num_classes_);
  for (uint32_t i : order)
    bits_by_class[matches_[i].class_id].push_back(matches_[i].true_positive_bits);

  std::array<double, kThresholds> map_sum{};
  std::vector<char> true_positive;
  for (int cls = 0; cls < num_classes_; ++cls) {
    const int64_t gts = ground_truth_per_class_[cls];
    if (gts == 0) continue;
    ++result.classes_with_ground_truth;
    const std::vector<uint16_t>& bits = bits_by_class[cls];
    double ap_sum = 0;
    for (int t = 0; t < kThresholds; ++t) {
      true_positive.resize(bits.size());
      for (size_t i = 0; i < bits.size(); ++i) true_positive[i] = (bits[i] >> t) & 1u;
      const double ap = average_precision(true_positive, gts);
      if (t == 0) result.ap50_per_class[cls] = ap;
      ap_sum += ap;
      map_sum[t] += ap;
    }
    result.ap50_95_per_class[cls] = ap_sum / kThresholds;
  }
  if (result.classes_with_ground_truth > 0) {
    const double classes = result.classes_with_ground_truth;
    result.map50 = map_sum[0] / classes;
    double sum = 0;
    for (double s : map_sum) sum += s / classes;
    result.map50_95 = sum / kThresholds;
  }
  return result;
}

double frame_recall(const std::vector<Detection>& detections,
                    const std::vector<GroundTruthBox>& ground_truth, float iou_threshold) {
  if (ground_truth.empty()) return 1.0;
  const std::vector<int> order =
      ranked(detections, [](const Detection& d) { return !std::isnan(d.score); });
  std::vector<char> taken(ground_truth.size(), 0);
  size_t matched = 0;
  for (int d : order) {
    int best = -1;
    float best_iou = iou_threshold;
    for (size_t g = 0; g < ground_truth.size(); ++g) {
      if (taken[g] || ground_truth[g].class_id != detections[d].class_id) continue;
      const float v = iou(detections[d].box, ground_truth[g].box);
      if (v < best_iou || (best >= 0 && v == best_iou)) continue;
      best = static_cast<int>(g);
      best_iou = v;
    }
    if (best >= 0) {
      taken[best] = 1;
      ++matched;
    }
  }
  return static_cast<double>(matched) / static_cast<double>(ground_truth.size());
}

}  // namespace streaminfer
