// The decode + NMS kernel's algorithm and per-element work (cuda/detect_math.h), run on the CPU,
// against the CPU path (decode_yolov8 + nms): the same boxes, bit for bit, in the same order, on
// a thousand random frames with ties, empty frames and non-finite values.
#include <gtest/gtest.h>

#include <vector>

#include "cuda/emulated.h"
#include "postprocess/yolo_decode.h"
#include "random_yolo_output.h"

namespace streaminfer {
namespace {

cuda::DetectParams params_of(const PostprocessOptions& o) {
  cuda::DetectParams p;
  p.score_threshold = o.score_threshold;
  p.iou_threshold = o.iou_threshold;
  p.max_detections = o.max_detections;
  p.max_candidates = o.max_candidates;
  p.class_agnostic = o.class_agnostic;
  return p;
}

// Counts the frames compared and fails at the first one that differs, naming it.
int expect_same(const cuda_test::RandomOutput& r, const PostprocessOptions& options,
                const char* what) {
  const auto cpu = decode_yolov8(r.values.data(), r.batch, r.channels, r.anchors, options);
  const auto emulated = cuda::detect_yolov8_emulated(r.values.data(), r.batch, r.channels,
                                                     r.anchors, params_of(options));
  EXPECT_EQ(cpu.size(), emulated.size());
  for (size_t f = 0; f < cpu.size() && f < emulated.size(); ++f) {
    EXPECT_EQ(cpu[f].size(), emulated[f].size()) << what << ", frame " << f;
    if (cpu[f].size() != emulated[f].size()) return 0;
    for (size_t i = 0; i < cpu[f].size(); ++i) {
      const Detection& c = cpu[f][i];
      const cuda::DeviceDetection& e = emulated[f][i];
      const bool same = c.box.x1 == e.x1 && c.box.y1 == e.y1 && c.box.x2 == e.x2 &&
                        c.box.y2 == e.y2 && c.score == e.score && c.class_id == e.class_id;
      EXPECT_TRUE(same) << what << ", frame " << f << ", detection " << i;
      if (!same) return 0;
    }
  }
  return static_cast<int>(cpu.size());
}

TEST(CudaDetectEquivalence, AThousandRandomFramesKeepTheSameBoxesInTheSameOrder) {
  PostprocessOptions options;
  int frames = 0, kept = 0;
  for (uint32_t seed = 1; seed <= 125; ++seed) {
    const auto r = cuda_test::random_yolo_output(8, 4 + seed % 7, 700, seed);
    frames += expect_same(r, options, "class-aware");
    for (const auto& f : cuda::detect_yolov8_emulated(r.values.data(), r.batch, r.channels,
                                                      r.anchors, params_of(options))) {
      kept += static_cast<int>(f.size());
    }
  }
  EXPECT_EQ(frames, 1000);
  EXPECT_GT(kept, 1000);  // NMS kept something: the comparison was not of empty lists
}

TEST(CudaDetectEquivalence, ClassAgnosticTightLimitsAndLowThresholds) {
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    const auto r = cuda_test::random_yolo_output(4, 3, 512, 1000 + seed);
    PostprocessOptions agnostic;
    agnostic.class_agnostic = true;
    expect_same(r, agnostic, "class-agnostic");
    PostprocessOptions limits;
    limits.max_candidates = 37;  // the cut falls among equal scores
    limits.max_detections = 5;
    expect_same(r, limits, "max_candidates 37, max_detections 5");
    PostprocessOptions everything;
    everything.score_threshold = 0.0f;
    everything.iou_threshold = 0.9f;
    everything.max_detections = 100000;
    expect_same(r, everything, "threshold 0, IoU 0.9, no detection limit");
  }
}

TEST(CudaDetectEquivalence, EmptyAndDegenerateInputs) {
  PostprocessOptions options;
  const auto r = cuda_test::random_yolo_output(2, 2, 64, 5);
  EXPECT_TRUE(cuda::detect_yolov8_emulated(nullptr, 2, 6, 64, params_of(options))[0].empty());
  EXPECT_TRUE(
      cuda::detect_yolov8_emulated(r.values.data(), 2, 4, 64, params_of(options))[1].empty());
  options.max_detections = 0;
  expect_same(r, options, "max_detections 0");
}

}  // namespace
}  // namespace streaminfer
