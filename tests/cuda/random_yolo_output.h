#pragma once
// Random YOLOv8 outputs [batch, 4 + classes, anchors] for the decode + NMS equivalence tests:
// clustered boxes (so NMS has work), scores on a coarse grid (so ties happen), and now and then
// an empty frame, a NaN or an infinity.
#include <cstdint>
#include <vector>

namespace streaminfer::cuda_test {

struct RandomOutput {
  int batch = 0, channels = 0, anchors = 0;
  std::vector<float> values;
};

RandomOutput random_yolo_output(int batch, int classes, int anchors, uint32_t seed);

}  // namespace streaminfer::cuda_test
