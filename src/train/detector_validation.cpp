#include "train/detector_validation.h"

#include <torch/types.h>

#include <algorithm>

#include "postprocess/yolo_decode.h"

namespace streaminfer {

Result<AccuracyResult> validate_detector(YoloV8& model, const std::vector<SceneSpec>& scenes,
                                         int input_size, int batch_size) {
  const bool was_training = model->is_training();
  model->eval();
  auto result = validate_detector([&](const torch::Tensor& x) { return model->forward(x); },
                                  model->num_classes(), scenes, input_size, batch_size);
  model->train(was_training);
  return result;
}

Result<AccuracyResult> validate_detector(const DetectorForward& forward, int num_classes,
                                         const std::vector<SceneSpec>& scenes, int input_size,
                                         int batch_size) {
  torch::NoGradGuard no_grad;
  DetectionEvaluator evaluator(num_classes);
  // COCO's evaluation settings: every detection down to 0.001, at most 300 per image.
  PostprocessOptions decode;
  decode.score_threshold = 0.001f;
  decode.iou_threshold = 0.7f;
  decode.max_detections = 300;
  for (size_t start = 0; start < scenes.size(); start += batch_size) {
    const size_t end = std::min(scenes.size(), start + batch_size);
    auto batch = render_scenes({scenes.begin() + start, scenes.begin() + end}, input_size);
    if (!batch) return batch.status();
    auto output = forward(batch->images).contiguous();
    auto detections =
        decode_yolov8(output.data_ptr<float>(), static_cast<int>(output.size(0)),
                      static_cast<int>(output.size(1)), static_cast<int>(output.size(2)), decode);
    for (size_t i = 0; i < detections.size(); ++i) evaluator.add(detections[i], batch->boxes[i]);
  }
  return evaluator.result();
}

}  // namespace streaminfer
