#pragma once
// A decoded frame and everything the pipeline learns about it on its way to a result.
// Ownership: frames move between stages by FramePtr; exactly one stage owns a frame at a time.
#include <cstdint>
#include <memory>
#include <vector>

#include "streaminfer/geometry.h"

struct AVFrame;

namespace streaminfer {

struct AvFrameDeleter {
  void operator()(AVFrame* frame) const;
};
using AvFramePtr = std::unique_ptr<AVFrame, AvFrameDeleter>;
AvFramePtr make_av_frame();

// Steady-clock ns at each stage boundary; 0 = not reached.
struct FrameTimestamps {
  // Source asked for the frame; for a live source, set by the source to when the data of the
  // frame arrived, so waiting for the camera's next frame counts as neither decode nor latency.
  int64_t decode_start = 0;
  int64_t decode_end = 0;  // picture available (pushed into the stream queue)
  int64_t batched = 0;     // taken out of the stream queue by the batcher
  int64_t prep_start = 0;
  int64_t prep_end = 0;
  int64_t infer_start = 0;
  int64_t infer_end = 0;
  int64_t post_start = 0;
  int64_t post_end = 0;
};

struct Frame {
  int stream_id = 0;
  int64_t index = 0;       // 0-based, counts every frame the source produced (dropped included)
  double pts_seconds = 0;  // presentation time from the start of the stream
  AvFramePtr image;        // decoded picture in any AVPixelFormat
  std::vector<GroundTruthBox> ground_truth;  // exact boxes when the source knows them (synthetic)
  LetterboxTransform letterbox;              // filled by preprocess
  std::vector<Detection> detections;         // filled by postprocess, source pixels
  std::vector<ClassScore> classes;           // classifiers: top classes, best first
  // A classifier's result: its line has "classes" (empty when the logits were not finite)
  // instead of "detections".
  bool classified = false;
  FrameTimestamps t;
};
using FramePtr = std::unique_ptr<Frame>;

}  // namespace streaminfer
