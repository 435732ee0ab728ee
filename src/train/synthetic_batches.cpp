#include "train/synthetic_batches.h"

#include <torch/types.h>

#include <algorithm>
#include <array>

extern "C" {
#include <libavutil/frame.h>
}

#include "preprocess/letterbox.h"
#include "source/synthetic_source.h"

namespace streaminfer {

namespace {

// Frame sizes a camera fleet has: 16:9, 4:3, square, portrait.
constexpr std::array<std::array<int, 2>, 5> kFrameSizes = {
    {{640, 360}, {1280, 720}, {640, 480}, {512, 512}, {360, 640}}};

}  // namespace

Result<DetectionBatch> render_scenes(const std::vector<SceneSpec>& scenes, int input_size) {
  const auto batch = static_cast<int64_t>(scenes.size());
  DetectionBatch out;
  out.images = torch::empty({batch, 3, input_size, input_size}, torch::kFloat32);
  out.boxes.resize(scenes.size());
  LetterboxPreprocessor letterbox;
  for (size_t i = 0; i < scenes.size(); ++i) {
    const SceneSpec& scene = scenes[i];
    SyntheticParams params;
    params.width = scene.width;
    params.height = scene.height;
    params.objects = scene.objects;
    params.seed = scene.seed;
    SyntheticSource source(params, "synthetic:");
    source.seek(scene.frame_index);
    FramePtr frame;
    SI_RETURN_IF_ERROR(source.next(frame));
    if (!frame) return Status::error("synthetic scene produced no frame");
    LetterboxTransform transform;
    float* slot = out.images.data_ptr<float>() + i * 3 * input_size * input_size;
    SI_RETURN_IF_ERROR(letterbox.run(*frame->image, input_size, input_size, slot, &transform));
    for (const GroundTruthBox& truth : frame->ground_truth) {
      GroundTruthBox mapped{transform.to_model(truth.box), truth.class_id};
      // A sliver left by a shape leaving the frame cannot be learned from.
      if (mapped.box.width() >= 1.0f && mapped.box.height() >= 1.0f) out.boxes[i].push_back(mapped);
    }
  }
  out.targets = make_targets(out.boxes);
  return out;
}

at::Tensor make_targets(const std::vector<std::vector<GroundTruthBox>>& boxes) {
  size_t most = 1;
  for (const auto& image : boxes) most = std::max(most, image.size());
  auto targets = torch::full({static_cast<int64_t>(boxes.size()), static_cast<int64_t>(most), 5},
                             -1.0f, torch::kFloat32);
  auto access = targets.accessor<float, 3>();
  for (size_t i = 0; i < boxes.size(); ++i) {
    for (size_t j = 0; j < boxes[i].size(); ++j) {
      const GroundTruthBox& b = boxes[i][j];
      access[i][j][0] = static_cast<float>(b.class_id);
      access[i][j][1] = b.box.x1;
      access[i][j][2] = b.box.y1;
      access[i][j][3] = b.box.x2;
      access[i][j][4] = b.box.y2;
    }
  }
  return targets;
}

SceneSampler::SceneSampler(uint32_t seed_base, uint64_t rng_seed)
    : seed_base_(seed_base), rng_(rng_seed) {}

SceneSpec SceneSampler::next() {
  SceneSpec scene;
  const auto& size = kFrameSizes[rng_() % kFrameSizes.size()];
  scene.width = size[0];
  scene.height = size[1];
  scene.objects = 1 + static_cast<int>(rng_() % 12);
  scene.seed = seed_base_ + static_cast<uint32_t>(rng_() % 1'000'000);
  scene.frame_index = static_cast<int64_t>(rng_() % 30'000);
  return scene;
}

void SceneSampler::skip(int64_t count) {
  for (int64_t i = 0; i < count; ++i) next();
}

std::vector<SceneSpec> validation_scenes(uint32_t seed_base, int count) {
  std::vector<SceneSpec> scenes;
  for (int i = 0; i < count; ++i) {
    SceneSpec scene;
    const auto& size = kFrameSizes[i % kFrameSizes.size()];
    scene.width = size[0];
    scene.height = size[1];
    scene.objects = 6;
    scene.seed = seed_base + static_cast<uint32_t>(i);
    scene.frame_index = 97 * i;
    scenes.push_back(scene);
  }
  return scenes;
}

}  // namespace streaminfer
