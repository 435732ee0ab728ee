#pragma once
// What the pipeline hands to the timeline exporters (trace, per-frame CSV) once a batch is
// complete. Plain copies of the timestamps, so exporters never touch Batch (which needs LibTorch)
// and the batch's frames can be released before the exporters run.
#include <cstdint>
#include <optional>
#include <vector>

#include "profile/retrain_stats.h"
#include "streaminfer/frame.h"

namespace streaminfer {

struct FrameTimeline {
  int stream_id = 0;
  int64_t frame_index = 0;
  FrameTimestamps t;
  int num_detections = 0;
  // Share of the frame's ground-truth boxes found at IoU 0.5; negative when its source has no
  // ground truth.
  double recall = -1;
};

// Steady-clock ns, 0 = not reached, as in FrameTimestamps.
struct BatchTimeline {
  int64_t step = 0;
  int64_t read_start = 0, read_end = 0;  // batcher: asked for frames -> batch formed
  int64_t prep_start = 0, prep_end = 0;
  int64_t infer_start = 0, infer_end = 0;
  int64_t post_start = 0, post_end = 0;
  int64_t sink_start = 0, sink_end = 0;  // detections written (JSONL, per-batch CSV)
  // Retrain mode: the inference span is one optimizer step, drawn as its three stages.
  std::optional<TrainStepRecord> train;
  std::vector<FrameTimeline> frames;
};

}  // namespace streaminfer
