#pragma once
// Retrain mode's labels for one frame, in the model's input pixels: the source's exact ground
// truth when it has one (synthetic cameras), otherwise a generated label that only gives the
// step something to compute (profiling: the loss it gives means nothing).
#include <vector>

#include "streaminfer/frame.h"

namespace streaminfer {

// generated: one box of class 0 over the centre half of the model input (the frame's letterbox
// target size). Otherwise the frame's ground truth mapped through its letterbox and clipped to
// the input, boxes that end up empty left out.
std::vector<GroundTruthBox> retrain_labels(const Frame& frame, bool generated);

}  // namespace streaminfer
