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
#include "streaminfer/frame.h"

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

// One frame's time in each stage, in ms, from its timestamps (inference and postprocess are its
// batch's): what the summary's and the service's histograms record.
std::array<double, static_cast<size_t>(Stage::kCount)> frame_stage_ms(const FrameTimestamps& t);

struct StreamStats {
  int stream_id = 0;
  std::string uri;
  std::string status = "ok";      // "ok", "failed: <reason>"
  int64_t frames_decoded = 0;     // pictures the source produced
  int64_t frames_done = 0;        // frames with a result (JSONL line)
  int64_t skipped = 0;            // left out on purpose (--every-nth, --sample-fps)
  int64_t dropped = 0;            // dropped by the overflow policy (live sources)
  int64_t reconnects = 0;         // live sources: drops that were re-opened
  int64_t decode_errors = 0;      // corrupt packets/frames skipped
  int64_t unprocessed = 0;        // read, then left without a result by a shortened stop
  int64_t non_finite_frames = 0;  // frames whose model output held NaN or infinite values
  double first_frame_s = 0, last_frame_s = 0;  // seconds since run start (results)
  double fps(double wall_seconds) const;       // frames_done / wall_seconds
};

// How one pipeline thread spent its life: working, waiting, and the rest (bookkeeping).
struct ThreadTime {
  double busy_ms = 0;
  double idle_ms = 0;
  double lifetime_ms = 0;
};

// How a run was stopped from outside (a signal, its stdout closed by the reader), when it was.
struct StopRecord {
  std::string cause;         // "SIGINT", "SIGTERM", "SIGHUP", "stdout closed"
  std::string phase;         // what the run was doing: "start-up", "running", "draining"
  double after_s = 0;        // seconds after the command started
  std::string at_time;       // local wall-clock time, "2026-12-06 22:41:07"
  std::string second_cause;  // the request that cut the drain short; empty when none came
  int64_t unprocessed = 0;   // frames read and left without a result by the shortened drain
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
  // Set when the run was stopped before its streams ended.
  std::optional<StopRecord> stopped;
  // What the model ran in and why (ModelInfo::precision, precision_why); empty: not said.
  std::string precision, precision_why;
  std::string calibration;  // int8: ModelInfo::calibration (ranges, held-out comparison)
  // A service whose model changed while it ran: one line per change ("at 12.5 s: yolov8n fp32
  // 640x640 -> resnet18 fp32 224x224"); precision above is then the last model's.
  std::vector<std::string> model_changes;
  // How the threads were planned (config/thread_plan.h); the summary sets the stages' measured
  // busy shares beside it.
  std::string thread_plan;

  LatencyHistogram& stage(Stage s) { return stages[static_cast<size_t>(s)]; }
  const LatencyHistogram& stage(Stage s) const { return stages[static_cast<size_t>(s)]; }
  int64_t total_frames_done() const;
};

// Share of wall time a stage's thread(s) spent working on it, 0..1 (per thread for decode).
double busy_share(const RunStats& stats, Stage stage);
// The working stage (decode, preprocess, inference, postprocess) with the largest busy share;
// Stage::kCount when nothing was recorded. `share` receives that share when not null.
Stage bottleneck_stage(const RunStats& stats, double* share = nullptr);

// One line saying how the run was stopped ("interrupted: SIGINT at ..."), with its newline.
std::string format_stop(const StopRecord& stop);

// The end-of-run table: per stream (uri, status, frames, FPS, dropped, decode errors), totals,
// per stage count/mean/p50/p95/p99/max, the bottleneck line, and the accuracy lines when the run
// has them.
std::string format_summary(const RunStats& stats);

}  // namespace streaminfer
