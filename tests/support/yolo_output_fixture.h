#pragma once
// A YOLOv8 detector output [batch, 4+nc, anchors] shaped like a trained detector's: almost every
// score tiny, 40 objects per frame each seen by ~10 neighbouring anchors with overlapping boxes
// (so NMS has work), scores on a coarse grid (so there are ties). Shared by the unit tests and the
// benchmarks.
#include <vector>

namespace streaminfer::test {

std::vector<float> realistic_yolov8_output(int batch, int nc, int anchors, unsigned seed);

}  // namespace streaminfer::test
