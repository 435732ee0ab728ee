#pragma once
// YOLOv8 decode + NMS written the way it usually is in a first version: a loop over the 8,400
// anchors that slices the output tensor per anchor, reads each value back with .item() (on a
// GPU, a synchronization each), appends to a list, then NMS over that list. It exists only for
// `streaminfer bench postprocess`, to measure what the vectorized decode_yolov8 saves. Same
// kept boxes, same order, as decode_yolov8.
#include <ATen/core/Tensor.h>

#include <vector>

#include "postprocess/yolo_decode.h"

namespace streaminfer {

// output: [B, 4+nc, A] float. Detections in model-input pixels, per frame, score descending.
std::vector<std::vector<Detection>> decode_yolov8_naive(const at::Tensor& output,
                                                        const PostprocessOptions& options);

}  // namespace streaminfer
