#pragma once
// Postprocessing of YOLOv8-style detector outputs: [B, 4+nc, A] floats, rows cx, cy, w, h in model
// input pixels followed by nc class scores (already sigmoid-ed, as in the Ultralytics export).
// Vectorized: the per-anchor best class is a running max over contiguous class rows (the compiler
// vectorizes it), candidates are filtered before any box is built, and nothing allocates per
// anchor.
#include <vector>

#include "streaminfer/geometry.h"

namespace streaminfer {

struct PostprocessOptions {
  float score_threshold = 0.25f;
  float iou_threshold = 0.45f;
  int max_detections = 300;     // per frame, after NMS
  int max_candidates = 30000;   // per frame, before NMS (highest scores kept)
  bool class_agnostic = false;  // default: class-aware NMS
};

// Detections in model-input pixels for each frame of the batch, sorted by score, descending.
std::vector<std::vector<Detection>> decode_yolov8(const float* output, int batch, int channels,
                                                  int anchors, const PostprocessOptions& options);

// The deliberately simple reference: per-anchor loop, same result. Tests compare against it.
std::vector<std::vector<Detection>> decode_yolov8_reference(const float* output, int batch,
                                                            int channels, int anchors,
                                                            const PostprocessOptions& options);

// Whether two decodes kept bit-identical boxes, scores and classes, in the same order.
bool same_detections(const std::vector<std::vector<Detection>>& a,
                     const std::vector<std::vector<Detection>>& b);

}  // namespace streaminfer
