#include "postprocess/synthetic_yolo_output.h"

#include <random>

namespace streaminfer {

std::vector<float> realistic_yolov8_output(int batch, int nc, int anchors, unsigned seed) {
  std::mt19937 rng(seed);
  const int channels = 4 + nc;
  std::vector<float> out(static_cast<size_t>(batch) * channels * anchors);
  std::uniform_real_distribution<float> tiny(0.0f, 0.03f);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  std::uniform_int_distribution<int> any_anchor(0, anchors - 1);
  std::uniform_int_distribution<int> any_class(0, nc - 1);
  for (int b = 0; b < batch; ++b) {
    float* f = out.data() + static_cast<size_t>(b) * channels * anchors;
    auto at = [&](int row, int a) -> float& { return f[static_cast<size_t>(row) * anchors + a]; };
    for (int a = 0; a < anchors; ++a) {
      at(0, a) = unit(rng) * 640;
      at(1, a) = unit(rng) * 640;
      at(2, a) = 4 + unit(rng) * 200;
      at(3, a) = 4 + unit(rng) * 200;
      for (int c = 0; c < nc; ++c) at(4 + c, a) = tiny(rng);
    }
    for (int object = 0; object < 40; ++object) {
      const float cx = unit(rng) * 640, cy = unit(rng) * 640;
      const float w = 10 + unit(rng) * 150, h = 10 + unit(rng) * 150;
      const int cls = any_class(rng);
      for (int k = 0; k < 10; ++k) {
        const int a = any_anchor(rng);
        at(0, a) = cx + (unit(rng) - 0.5f) * 10;
        at(1, a) = cy + (unit(rng) - 0.5f) * 10;
        at(2, a) = w * (0.9f + 0.2f * unit(rng));
        at(3, a) = h * (0.9f + 0.2f * unit(rng));
        at(4 + cls, a) = static_cast<float>(static_cast<int>(unit(rng) * 64)) / 64.0f;
        if (k % 3 == 0) at(4 + any_class(rng), a) = 0.3f + 0.5f * unit(rng);
      }
    }
  }
  return out;
}

}  // namespace streaminfer
