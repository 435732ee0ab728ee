#include "postprocess/nms.h"

#include <algorithm>
#include <cstddef>
#include <numeric>

namespace streaminfer {
namespace {

// Score descending, then index ascending: the tie-break both implementations promise.
bool ranks_before(const std::vector<Detection>& d, int a, int b) {
  if (d[a].score != d[b].score) return d[a].score > d[b].score;
  return a < b;
}

// Reused between calls so steady-state NMS does not allocate (beyond the returned vector).
struct NmsScratch {
  std::vector<int> order, grouped, position, group_end;
  std::vector<Box> boxes;
  std::vector<float> areas;
  std::vector<char> suppressed;
};

bool limit_reached(size_t kept, int max_keep) {
  return max_keep >= 0 && kept >= static_cast<size_t>(max_keep);
}

}  // namespace

// max_keep < 0 means no limit. Scores must not be NaN (the decoder filters them out).
std::vector<int> nms(const std::vector<Detection>& detections, float iou_threshold,
                     bool class_agnostic, int max_keep) {
  std::vector<int> kept;
  const int n = static_cast<int>(detections.size());
  if (n == 0 || max_keep == 0) return kept;

  thread_local NmsScratch scratch;
  std::vector<int>& order = scratch.order;
  std::vector<int>& grouped = scratch.grouped;
  std::vector<int>& position = scratch.position;
  std::vector<int>& group_end = scratch.group_end;
  std::vector<Box>& boxes = scratch.boxes;
  std::vector<float>& areas = scratch.areas;
  std::vector<char>& suppressed = scratch.suppressed;

  // order[r] = index of the detection with rank r.
  order.resize(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](int a, int b) { return ranks_before(detections, a, b); });

  // Boxes and areas by rank, so the inner loop reads contiguous memory.
  boxes.resize(n);
  areas.resize(n);
  for (int r = 0; r < n; ++r) {
    boxes[r] = detections[order[r]].box;
    areas[r] = boxes[r].area();
  }

  // Ranks grouped by class (ranks ascending inside each group), so a kept box only scans the
  // lower-ranked boxes of its own class. Exact, unlike the coordinate-offset trick, whose
  // shifted floats could flip an IoU that sits right at the threshold.
  grouped.resize(n);
  std::iota(grouped.begin(), grouped.end(), 0);
  position.resize(n);
  group_end.assign(n, n);
  if (!class_agnostic) {
    std::stable_sort(grouped.begin(), grouped.end(), [&](int a, int b) {
      return detections[order[a]].class_id < detections[order[b]].class_id;
    });
    for (int p = n - 1; p >= 0; --p) {
      const bool last = p == n - 1 || detections[order[grouped[p]]].class_id !=
                                          detections[order[grouped[p + 1]]].class_id;
      group_end[grouped[p]] = last ? p + 1 : group_end[grouped[p + 1]];
    }
  }
  for (int p = 0; p < n; ++p) position[grouped[p]] = p;

  suppressed.assign(n, 0);
  for (int r = 0; r < n; ++r) {
    if (suppressed[r]) continue;
    kept.push_back(order[r]);
    if (limit_reached(kept.size(), max_keep)) break;
    const Box& a = boxes[r];
    for (int p = position[r] + 1; p < group_end[r]; ++p) {
      const int s = grouped[p];
      if (suppressed[s]) continue;
      const Box& b = boxes[s];
      // Same arithmetic as iou(), so the comparison agrees with nms_reference bit for bit.
      const float iw = std::min(a.x2, b.x2) - std::max(a.x1, b.x1);
      const float ih = std::min(a.y2, b.y2) - std::max(a.y1, b.y1);
      float overlap = 0.0f;
      if (iw > 0.0f && ih > 0.0f) {
        const float inter = iw * ih;
        const float uni = areas[r] + areas[s] - inter;
        overlap = uni > 0.0f ? inter / uni : 0.0f;
      }
      if (overlap > iou_threshold) suppressed[s] = 1;
    }
  }
  return kept;
}

std::vector<int> nms_reference(const std::vector<Detection>& detections, float iou_threshold,
                               bool class_agnostic, int max_keep) {
  std::vector<int> kept;
  std::vector<int> remaining(detections.size());
  std::iota(remaining.begin(), remaining.end(), 0);
  while (!remaining.empty() && !limit_reached(kept.size(), max_keep)) {
    int best = remaining.front();
    for (int i : remaining) {
      if (ranks_before(detections, i, best)) best = i;
    }
    kept.push_back(best);
    std::vector<int> next;
    for (int i : remaining) {
      if (i == best) continue;
      const bool same_group = class_agnostic || detections[i].class_id == detections[best].class_id;
      if (same_group && iou(detections[best].box, detections[i].box) > iou_threshold) continue;
      next.push_back(i);
    }
    remaining = std::move(next);
  }
  return kept;
}

}  // namespace streaminfer
