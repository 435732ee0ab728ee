#pragma once
// Runs every stage on its own thread(s), linked by bounded queues:
//   one thread per source (decode, pacing) -> Batcher -> preprocess thread (letterbox straight
//   into a pooled batch tensor) -> inference thread -> postprocess + sinks thread.
// Decode and preprocessing of the next batch overlap inference of the current one; memory is
// bounded by the queue sizes and the tensor pool, never by the length of the run.
#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "batch/batcher.h"
#include "infer/backend.h"
#include "postprocess/yolo_decode.h"
#include "profile/run_stats.h"
#include "source/source.h"
#include "streaminfer/status.h"

namespace streaminfer {

class OnlineTrainer;
class StopRequest;

enum class PaceMode { kAuto, kMax, kRealtime };

struct PipelineOptions {
  std::vector<std::string> sources;
  SourceOptions source_options;
  PaceMode pace = PaceMode::kAuto;  // auto: realtime for live sources, max for files
  BatcherOptions batcher;
  int64_t max_frames = 0;  // frames read per stream; 0 = until the end of the stream
  int every_nth = 1;       // infer frames 0, K, 2K, ... of each stream; the rest are skipped
  double sample_fps = 0;   // infer at most this many frames per second of stream time; 0 = all
  int64_t max_steps = 0;   // batches; 0 = unlimited
  PostprocessOptions postprocess;
  std::string output_jsonl;  // empty: no JSONL
  std::string metrics_dir;   // empty: no CSVs / summary JSON
  std::string trace_path;    // empty: no trace timeline
  std::string model_name;    // for the CSV file names
  std::string thread_plan;   // ThreadPlan::describe(), for the summary; empty: not said
  bool progress = true;      // live display on stderr
  nlohmann::json system;     // system-information block, copied into the summary JSON

  // mqtt://host[:port]/topic: per-frame detections and a stats message to a broker.
  std::vector<std::string> sinks;

  // Stop requests from outside (signals, stdout closed), not owned: the first ends the sources
  // and drains every frame already read, a second discards the queued frames; the run's stats
  // say how and when (RunStats::stopped). Null: only request_stop().
  StopRequest* stop = nullptr;

  // Retrain mode (not owned; outlives the run): each batch runs one fine-tuning step instead of
  // the backend's forward, and the frames get their results from that step's forward. Null:
  // inference mode.
  OnlineTrainer* trainer = nullptr;
};

class Pipeline {
 public:
  Pipeline(PipelineOptions options, InferenceBackend& backend);
  ~Pipeline();

  // Opens the outputs (JSONL, CSVs, trace); fails naming the path that cannot be written.
  Status open_outputs();
  // Opens every source, side by side. One that cannot be opened is reported (one line on
  // stderr) and marked failed, and the run goes on with the others. One still opening after a
  // second (a camera that does not answer) goes on opening on its own thread and joins the run
  // when it opens (SourceInfo::description says "opening"). Fails when every source failed.
  // After a stop request nothing is opened (the run then ends at once, its outputs written).
  Status open_sources();
  // Runs until every stream ended (or max_steps, or request_stop()). Fails only when inference
  // itself failed; per-stream failures are in the stats.
  Result<RunStats> run();
  // Stops the sources; frames already queued are still processed and every output is written.
  // Async-signal-safe (atomic stores): a signal handler may call it. Sources blocked on a
  // network read are interrupted within 100 ms (the queue sampling interval).
  void request_stop();

  const std::vector<SourceInfo>& source_infos() const { return source_infos_; }
  // Retrain mode, after open_sources(): the streams without ground truth, which train on
  // generated labels (retrain_labels.h).
  std::vector<int> generated_label_streams() const;
  // Files written by the last run (after run() returned).
  std::vector<std::string> written_files() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<SourceInfo> source_infos_;
};

}  // namespace streaminfer
