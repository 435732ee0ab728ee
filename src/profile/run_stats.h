#pragma once
// What the end-of-run summary and the live display are made of. Filled by the pipeline.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "profile/latency_histogram.h"
#include "profile/retrain_stats.h"
#include "profile/run_accuracy.h"

namespace streaminfer {

enum class Stage : int {
  kDecode = 0,   // per frame: source produced the picture
  kQueueWait,    // per frame: waiting in its stream queue until the batcher took it
  kBatchWait,    // per frame: batched -> preprocessing started (waiting for the batch to fill)
  kPreprocess,   // per frame: letterbox into the batch tensor
  kInference,    // per batch: model forward
  kPostprocess,  // per batch: decode + NMS + mapping back to source pixels
  kEndToEnd,     // per frame: decode start -> postprocess end
  kCount
};
const char* stage_name(Stage stage);

struct StreamStats {
  int stream_id = 0;
  std::string uri;
  std::string status = "ok";                   // "ok", "failed: <reason>"
  int64_t frames_decoded = 0;                  // pictures the source produced
  int64_t frames_done = 0;                     // frames with a result (JSONL line)
  int64_t skipped = 0;                         // left out on purpose (--every-nth, --sample-fps)
  int64_t dropped = 0;                         // dropped by the overflow policy (live sources)
  int64_t reconnects = 0;                      // live sources: drops that were re-opened
  int64_t decode_errors = 0;                   // corrupt packets/frames skipped
  double first_frame_s = 0, last_frame_s = 0;  // seconds since run start (results)
  double fps(double wall_seconds) const;       // frames_done / wall_seconds
};

// How one pipeline thread spent its life: working, waiting, and the rest (bookkeeping).
struct ThreadTime {
  double busy_ms = 0;
  double idle_ms = 0;
  double lifetime_ms = 0;
};

struct RunStats {
  double wall_seconds = 0;
  ThreadTime inference_thread;
  // Time spent writing outputs and profiling records (JSONL, CSVs, trace, statistics): the
  // profiler's own cost, measured where it is paid.
  double outputs_ms = 0;
  int64_t batches = 0;
  std::vector<StreamStats> streams;
  std::array<LatencyHistogram, static_cast<size_t>(Stage::kCount)> stages;
  // Busy time of each pipeline thread's stage work, for "bottleneck: inference, busy 97%".
  std::array<double, static_cast<size_t>(Stage::kCount)> busy_ms{};
  // Only when at least one stream's source has ground truth (synthetic cameras).
  std::optional<RunAccuracy> accuracy;
  // Retrain mode only: loss per step and the forward / backward / optimizer stages.
  std::optional<RetrainStats> retrain;

  LatencyHistogram& stage(Stage s) { return stages[static_cast<size_t>(s)]; }
  const LatencyHistogram& stage(Stage s) const { return stages[static_cast<size_t>(s)]; }
  int64_t total_frames_done() const;
};

// Share of wall time a stage's thread(s) spent working on it, 0..1 (per thread for decode).
double busy_share(const RunStats& stats, Stage stage);
// The working stage (decode, preprocess, inference, postprocess) with the largest busy share;
// Stage::kCount when nothing was recorded. `share` receives that share when not null.
Stage bottleneck_stage(const RunStats& stats, double* share = nullptr);

// The end-of-run table: per stream (uri, status, frames, FPS, dropped, decode errors), totals,
// per stage count/mean/p50/p95/p99/max, the bottleneck line, and the accuracy lines when the run
// has them.
std::string format_summary(const RunStats& stats);

}  // namespace streaminfer
