#pragma once
// A YOLOv8 detector output [batch, 4+nc, anchors] shaped like a trained detector's: almost every
// score tiny, 40 objects per frame each seen by ~10 neighbouring anchors with overlapping boxes
// (so NMS has work), scores on a coarse grid (so there are ties). Deterministic by seed. Used by
// `streaminfer bench postprocess`, the micro-benchmarks and the tests.
#include <vector>

namespace streaminfer {

std::vector<float> realistic_yolov8_output(int batch, int nc, int anchors, unsigned seed);

}  // namespace streaminfer
