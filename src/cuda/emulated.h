#pragma once
// The kernels' algorithms run on the CPU with the same per-element functions (SI_HD): what the
// equivalence tests compare with the CPU path here, and with the device where there is one.
#include <vector>

#include "cuda/detect_math.h"
#include "cuda/letterbox_sampling.h"

namespace streaminfer::cuda {

// Fills 3 x dst_height x dst_width floats, padding included, as launch_letterbox does.
void letterbox_emulated(const PlaneSource& source, const LetterboxGeometry& geometry,
                        float* dst_chw);

// What launch_detect_yolov8 keeps, frame by frame, in the same order.
std::vector<std::vector<DeviceDetection>> detect_yolov8_emulated(const float* output, int batch,
                                                                 int channels, int anchors,
                                                                 const DetectParams& params);

}  // namespace streaminfer::cuda
