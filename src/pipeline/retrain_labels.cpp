#include "pipeline/retrain_labels.h"

namespace streaminfer {

std::vector<GroundTruthBox> retrain_labels(const Frame& frame, bool generated) {
  std::vector<GroundTruthBox> labels;
  const LetterboxTransform& lb = frame.letterbox;
  if (generated) {
    const float w = static_cast<float>(lb.dst_width), h = static_cast<float>(lb.dst_height);
    labels.push_back({Box{w / 4, h / 4, w * 3 / 4, h * 3 / 4}, 0});
    return labels;
  }
  for (const auto& truth : frame.ground_truth) {
    const Box box = lb.to_model(truth.box);
    if (box.area() > 0) labels.push_back({box, truth.class_id});
  }
  return labels;
}

}  // namespace streaminfer
