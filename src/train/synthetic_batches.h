#pragma once
// Training and validation batches drawn from the synthetic scenes (source/synthetic_source.h),
// whose ground truth is exact: images letterboxed exactly as `run` preprocesses them, and the
// boxes mapped into the model's input pixels.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <random>
#include <vector>

#include "streaminfer/geometry.h"
#include "streaminfer/status.h"

namespace streaminfer {

// One scene: a synthetic camera (size, objects, seed) at one frame index.
struct SceneSpec {
  int width = 640, height = 360;
  int objects = 6;
  uint32_t seed = 1;
  int64_t frame_index = 0;
};

struct DetectionBatch {
  at::Tensor images;   // [B, 3, S, S] float in [0, 1]
  at::Tensor targets;  // [B, M, 5] rows (class, x1, y1, x2, y2) in input pixels; class -1 pads
  std::vector<std::vector<GroundTruthBox>> boxes;  // the same boxes, per image
};

// Renders `scenes` and letterboxes them to input_size x input_size.
Result<DetectionBatch> render_scenes(const std::vector<SceneSpec>& scenes, int input_size);

// [B, M, 5] targets from per-image boxes in input pixels (M: the most boxes of any image, >= 1).
at::Tensor make_targets(const std::vector<std::vector<GroundTruthBox>>& boxes);

// Draws training scenes: seeds from `seed_base` upwards (validation and the held-out cameras use
// seeds below it), frame sizes of several aspect ratios, 1 to 12 objects, any time in the first
// 1000 s of the camera.
class SceneSampler {
 public:
  SceneSampler(uint32_t seed_base, uint64_t rng_seed);
  SceneSpec next();
  // So that a resumed run draws the scenes it would have drawn.
  void skip(int64_t count);

 private:
  uint32_t seed_base_;
  std::mt19937_64 rng_;
};

// The fixed validation scenes: `count` scenes from seeds [seed_base, seed_base + count).
std::vector<SceneSpec> validation_scenes(uint32_t seed_base, int count);

}  // namespace streaminfer
