#pragma once
// Validation of a detector on synthetic scenes: the same letterbox, decode and NMS as `run`, at
// the low score threshold that mAP is defined with.
#include <functional>
#include <vector>

#include "infer/yolov8.h"
#include "postprocess/detection_metrics.h"
#include "train/synthetic_batches.h"

namespace streaminfer {

// Runs `model` (switched to eval mode for the duration) over `scenes` in batches.
Result<AccuracyResult> validate_detector(YoloV8& model, const std::vector<SceneSpec>& scenes,
                                         int input_size, int batch_size = 16);

// The same for any forward that maps [B, 3, S, S] images to [B, 4 + num_classes, A] (the int8
// model, say).
using DetectorForward = std::function<torch::Tensor(const torch::Tensor&)>;
Result<AccuracyResult> validate_detector(const DetectorForward& forward, int num_classes,
                                         const std::vector<SceneSpec>& scenes, int input_size,
                                         int batch_size = 16);

}  // namespace streaminfer
