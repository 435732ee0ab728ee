#pragma once
// Per-element work of the batched YOLOv8 decode + NMS kernel (detect_kernel.cu), also run on
// the CPU by detect_yolov8_emulated() and the tests. Every float operation is the CPU path's
// (src/postprocess/yolo_decode.cpp, nms.cpp) in the same order, and the kernels are compiled
// with --fmad=false, so device and CPU keep bit-identical boxes in the same order.
#include <cstdint>
#include <cstring>

#include "cuda/host_device.h"

namespace streaminfer::cuda {

// One kept detection as the kernel writes it: 24 bytes, what is copied back per box.
struct DeviceDetection {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
  float score = 0;
  int32_t class_id = 0;
};

struct DetectParams {
  float score_threshold = 0.25f;
  float iou_threshold = 0.45f;
  int32_t max_detections = 300;    // per frame, after NMS
  int32_t max_candidates = 30000;  // per frame, before NMS (highest scores kept)
  bool class_agnostic = false;
};

SI_HD uint32_t float_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
#endif
}

// A candidate's sort key: ascending keys are scores descending, then anchors ascending (the CPU
// path's candidate order, which also decides NMS's ties). The score's bits are mapped to an
// unsigned order (negatives flipped whole, positives above them), then inverted.
SI_HD uint64_t candidate_key(float score, int32_t anchor) {
  const uint32_t bits = float_bits(score);
  const uint32_t ordered = (bits & 0x80000000u) != 0 ? ~bits : (bits | 0x80000000u);
  return (static_cast<uint64_t>(~ordered) << 32) | static_cast<uint32_t>(anchor);
}
SI_HD int32_t key_anchor(uint64_t key) { return static_cast<int32_t>(key & 0xffffffffu); }

// The best class of anchor a (strict >: the lower class keeps a tie) and its score.
SI_HD void best_class(const float* scores, int32_t classes, int64_t anchors, int64_t a,
                      float* score, int32_t* class_id) {
  float best = scores[a];
  int32_t which = 0;
  for (int32_t c = 1; c < classes; ++c) {
    const float s = scores[static_cast<int64_t>(c) * anchors + a];
    if (s > best) {
      best = s;
      which = c;
    }
  }
  *score = best;
  *class_id = which;
}

// NaN and infinities fail: x - x is 0 only for finite x (no fast-math on either side).
SI_HD bool finite(float x) { return x - x == 0.0f; }

// Rows cx, cy, w, h of anchor a -> corners, as box_from_center() in yolo_decode.cpp.
SI_HD bool decode_box(const float* frame, int64_t anchors, int64_t a, float score, int32_t cls,
                      DeviceDetection* out) {
  const float cx = frame[a], cy = frame[anchors + a];
  const float hw = frame[2 * anchors + a] * 0.5f, hh = frame[3 * anchors + a] * 0.5f;
  out->x1 = cx - hw;
  out->y1 = cy - hh;
  out->x2 = cx + hw;
  out->y2 = cy + hh;
  out->score = score;
  out->class_id = cls;
  return finite(score) && finite(out->x1) && finite(out->y1) && finite(out->x2) && finite(out->y2);
}

SI_HD float box_area(const DeviceDetection& b) {
  return (b.x2 > b.x1 && b.y2 > b.y1) ? (b.x2 - b.x1) * (b.y2 - b.y1) : 0.0f;
}

// Whether kept box a suppresses b: IoU > threshold with nms()'s arithmetic.
SI_HD bool suppresses(const DeviceDetection& a, float area_a, const DeviceDetection& b,
                      float area_b, float iou_threshold) {
  // std::min(p, q) is (q < p ? q : p) and std::max(p, q) is (p < q ? q : p): spelled out so
  // that even a signed zero picks the same operand.
  const float iw = (b.x2 < a.x2 ? b.x2 : a.x2) - (a.x1 < b.x1 ? b.x1 : a.x1);
  const float ih = (b.y2 < a.y2 ? b.y2 : a.y2) - (a.y1 < b.y1 ? b.y1 : a.y1);
  float overlap = 0.0f;
  if (iw > 0.0f && ih > 0.0f) {
    const float inter = iw * ih;
    const float uni = area_a + area_b - inter;
    overlap = uni > 0.0f ? inter / uni : 0.0f;
  }
  return overlap > iou_threshold;
}

}  // namespace streaminfer::cuda
