#include "random_yolo_output.h"

#include <limits>
#include <random>

namespace streaminfer::cuda_test {

RandomOutput random_yolo_output(int batch, int classes, int anchors, uint32_t seed) {
  RandomOutput r;
  r.batch = batch;
  r.channels = 4 + classes;
  r.anchors = anchors;
  r.values.assign(static_cast<size_t>(batch) * r.channels * anchors, 0.0f);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  for (int b = 0; b < batch; ++b) {
    float* frame = r.values.data() + static_cast<size_t>(b) * r.channels * anchors;
    auto at = [&](int row, int a) -> float& {
      return frame[static_cast<size_t>(row) * anchors + a];
    };
    const bool empty = rng() % 10 == 0;  // nothing above any threshold
    // A few object centres; anchors scatter around them, so many boxes overlap.
    const int objects = 1 + static_cast<int>(rng() % 6);
    std::vector<float> ox(objects), oy(objects), ow(objects), oh(objects);
    for (int o = 0; o < objects; ++o) {
      ox[o] = unit(rng) * 640;
      oy[o] = unit(rng) * 640;
      ow[o] = 8 + unit(rng) * 200;
      oh[o] = 8 + unit(rng) * 200;
    }
    for (int a = 0; a < anchors; ++a) {
      const int o = static_cast<int>(rng() % objects);
      at(0, a) = ox[o] + (unit(rng) - 0.5f) * 20;
      at(1, a) = oy[o] + (unit(rng) - 0.5f) * 20;
      at(2, a) = ow[o] * (0.8f + 0.4f * unit(rng));
      at(3, a) = oh[o] * (0.8f + 0.4f * unit(rng));
      for (int c = 0; c < classes; ++c) {
        // Multiples of 1/32: equal scores are common, and equal class scores within an anchor.
        at(4 + c, a) = empty ? 0.0f : static_cast<float>(rng() % 33) / 32.0f * unit(rng) * 1.2f;
        if (!empty && rng() % 4 == 0) at(4 + c, a) = static_cast<float>(rng() % 9) / 8.0f;
      }
    }
    if (!empty && rng() % 5 == 0) {
      const int a = static_cast<int>(rng() % anchors);
      const int row = static_cast<int>(rng() % r.channels);
      at(row, a) = rng() % 2 == 0 ? std::numeric_limits<float>::quiet_NaN()
                                  : std::numeric_limits<float>::infinity();
    }
  }
  return r;
}

}  // namespace streaminfer::cuda_test
