#include "cuda/emulated.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace streaminfer::cuda {

void letterbox_emulated(const PlaneSource& source, const LetterboxGeometry& geometry,
                        float* dst_chw) {
  const size_t plane = static_cast<size_t>(geometry.dst_width) * geometry.dst_height;
  for (int32_t y = 0; y < geometry.dst_height; ++y) {
    for (int32_t x = 0; x < geometry.dst_width; ++x) {
      float rgb[3];
      letterbox_pixel(source, geometry, x, y, rgb);
      const size_t at = static_cast<size_t>(y) * geometry.dst_width + x;
      for (int c = 0; c < 3; ++c) dst_chw[c * plane + at] = rgb[c];
    }
  }
}

// The kernel's steps in its order: candidates above the threshold as keys, sorted; the first
// max_candidates; boxes decoded and the non-finite left out; greedy NMS down the list.
std::vector<std::vector<DeviceDetection>> detect_yolov8_emulated(const float* output, int batch,
                                                                 int channels, int anchors,
                                                                 const DetectParams& params) {
  std::vector<std::vector<DeviceDetection>> result(std::max(batch, 0));
  const int classes = channels - 4;
  if (output == nullptr || classes <= 0 || anchors <= 0 || params.max_candidates <= 0) {
    return result;
  }
  std::vector<uint64_t> keys;
  std::vector<DeviceDetection> boxes;
  std::vector<float> areas;
  std::vector<char> suppressed;
  for (int b = 0; b < batch; ++b) {
    const float* frame = output + static_cast<size_t>(b) * channels * anchors;
    const float* scores = frame + static_cast<size_t>(4) * anchors;
    keys.clear();
    for (int a = 0; a < anchors; ++a) {
      float score = 0;
      int32_t cls = 0;
      best_class(scores, classes, anchors, a, &score, &cls);
      if (score > params.score_threshold) keys.push_back(candidate_key(score, a));
    }
    std::sort(keys.begin(), keys.end());
    keys.resize(std::min(keys.size(), static_cast<size_t>(params.max_candidates)));
    boxes.clear();
    for (uint64_t key : keys) {
      const int32_t a = key_anchor(key);
      float score = 0;
      int32_t cls = 0;
      best_class(scores, classes, anchors, a, &score, &cls);
      DeviceDetection d;
      if (decode_box(frame, anchors, a, score, cls, &d)) boxes.push_back(d);
    }
    areas.resize(boxes.size());
    for (size_t i = 0; i < boxes.size(); ++i) areas[i] = box_area(boxes[i]);
    suppressed.assign(boxes.size(), 0);
    auto& kept = result[b];
    for (size_t r = 0; r < boxes.size(); ++r) {
      if (suppressed[r]) continue;
      if (params.max_detections >= 0 && kept.size() >= static_cast<size_t>(params.max_detections)) {
        break;
      }
      kept.push_back(boxes[r]);
      for (size_t j = r + 1; j < boxes.size(); ++j) {
        if (!params.class_agnostic && boxes[j].class_id != boxes[r].class_id) continue;
        if (suppresses(boxes[r], areas[r], boxes[j], areas[j], params.iou_threshold)) {
          suppressed[j] = 1;
        }
      }
    }
  }
  return result;
}

}  // namespace streaminfer::cuda
