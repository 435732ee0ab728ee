#pragma once
// int8 calibration on the user's own frames (--calibration SOURCE): a video file, a folder of
// images or any source `run` reads (a camera, a synthetic stream), letterboxed as the pipeline
// letterboxes, so that the activation ranges are those the run will meet.
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "streaminfer/geometry.h"

#include "streaminfer/status.h"

namespace streaminfer {

struct CalibrationFrames {
  at::Tensor images;    // [N, 3, S, S] float32 in [0, 1]: what the ranges are measured on
  at::Tensor held_out;  // [M, 3, S, S]: frames kept apart to compare int8 with fp32; may be empty
  // The held-out frames' ground truth in model-input pixels, when the source has it (synthetic
  // scenes and streams): then fp32 and int8 mAP are compared on them. Empty otherwise.
  std::vector<std::vector<GroundTruthBox>> held_out_truth;
  std::string description;  // e.g. "64 frames of clip.mp4 (h264 1280x720 @ 30 fps), one in 4"
};

// Takes `count` frames for calibration and about a quarter as many more to hold out. Files give
// one frame in every 4 (spread over the first seconds of a clip, not 2 s of one scene); live
// and synthetic sources give consecutive frames; a folder gives its images (png, jpg,
// bmp) in name order, evenly spaced when it holds more. A source with fewer frames gives what it
// has (at least 2), 4 in 5 of them for calibration. Errors name the source and what to do.
Result<CalibrationFrames> read_calibration_frames(const std::string& source, int count,
                                                  int input_size);

}  // namespace streaminfer
