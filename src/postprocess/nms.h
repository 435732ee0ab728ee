#pragma once
#include <vector>

#include "streaminfer/geometry.h"

namespace streaminfer {

// Greedy non-maximum suppression. Returns indices into `detections` of the kept boxes, highest
// score first (ties: lower index first). Class-aware unless class_agnostic: boxes of different
// classes never suppress each other. A box is suppressed when IoU with a kept box is > threshold.
// At most max_keep indices; max_keep < 0 means no limit. Scores must not be NaN.
std::vector<int> nms(const std::vector<Detection>& detections, float iou_threshold,
                     bool class_agnostic, int max_keep);

// Brute-force reference with the same contract (O(n^2), no tricks), for tests.
std::vector<int> nms_reference(const std::vector<Detection>& detections, float iou_threshold,
                               bool class_agnostic, int max_keep);

}  // namespace streaminfer
