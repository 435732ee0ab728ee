#include "pipeline/retrain_labels.h"

#include <algorithm>

namespace streaminfer {

std::vector<GroundTruthBox> retrain_labels(const Frame& frame, bool generated) {
  std::vector<GroundTruthBox> labels;
  const LetterboxTransform& lb = frame.letterbox;
  if (generated) {
    const float w = static_cast<float>(lb.dst_width), h = static_cast<float>(lb.dst_height);
    labels.push_back({Box{w / 4, h / 4, w * 3 / 4, h * 3 / 4}, 0});
    return labels;
  }
  // Clipped to the input: the loss's assigner only has anchors inside it.
  const auto clip = [](float v, int high) { return std::clamp(v, 0.0f, static_cast<float>(high)); };
  for (const auto& truth : frame.ground_truth) {
    const Box m = lb.to_model(truth.box);
    const Box box{clip(m.x1, lb.dst_width), clip(m.y1, lb.dst_height), clip(m.x2, lb.dst_width),
                  clip(m.y2, lb.dst_height)};
    if (box.area() > 0) labels.push_back({box, truth.class_id});
  }
  return labels;
}

}  // namespace streaminfer
