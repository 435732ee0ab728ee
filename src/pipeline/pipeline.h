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
#include "pipeline/output_peer.h"
#include "postprocess/yolo_decode.h"
#include "profile/run_stats.h"
#include "source/source.h"
#include "streaminfer/status.h"

namespace streaminfer {

class OnlineTrainer;
class StopRequest;

enum class PaceMode { kAuto, kMax, kRealtime };

// One stream to run: its source URI and, for a service's cameras, a name and its own sampling.
struct StreamSpec {
  StreamSpec() = default;
  // A stream given by its URI alone (run's --source).
  StreamSpec(std::string source_uri) : uri(std::move(source_uri)) {}  // NOLINT: implicit
  StreamSpec(const char* source_uri) : uri(source_uri) {}             // NOLINT: implicit

  std::string uri;
  std::string name;        // empty: "stream-ID"
  int every_nth = 0;       // 0: PipelineOptions::every_nth
  double sample_fps = -1;  // < 0: PipelineOptions::sample_fps
};

// A stream as the service's API shows it (Pipeline::streams()).
struct StreamState {
  int id = 0;
  std::string name, uri;
  std::string status;       // "ok", "opening", "failed: ...", "ended", "removed", ...
  std::string description;  // the source's own ("h264 1280x720 @ 30 fps, live ...")
  bool live = false;
  bool up = false;  // opened and reading
  bool removed = false;
  int every_nth = 1;
  double sample_fps = 0;
  int64_t decoded = 0, done = 0, skipped = 0, dropped = 0, reconnects = 0, decode_errors = 0;
  size_t queued = 0;
  double seconds_since_result = -1;  // -1: no result yet
};

struct PipelineOptions {
  std::vector<StreamSpec> sources;
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
  // Outputs plugged in beside the built-in ones (the service's metrics registry).
  std::vector<std::shared_ptr<OutputPeer>> peers;
  // A fleet worker's id (serve --fleet): on every JSONL line. Empty: none.
  std::string worker_id;

  // A service: the run goes on while streams end, fail or are removed, and with none at all,
  // until a stop request; streams are added and removed while it runs (add_stream,
  // remove_stream). Not a service: the run ends when every stream ended.
  bool service = false;

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
  // The backend must outlive the pipeline.
  Pipeline(PipelineOptions options, InferenceBackend& backend);
  // Shared: a model replaced by use_backend() lives until the last batch that uses it is done.
  Pipeline(PipelineOptions options, std::shared_ptr<InferenceBackend> backend);
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

  // A service's stream joins the running pipeline (also before run(): it starts with the run):
  // its open runs on its own thread, so the caller never waits for a camera. Returns its id.
  // Fails when the run is stopping, when kMaxReadingStreams read already, or when the stream
  // table is full.
  Result<int> add_stream(const StreamSpec& spec);
  // The stream leaves: its source is interrupted and its thread joined; the frames it had
  // queued are still inferred and written (waited for, at most 10 s). Fails for an unknown id or
  // a stream already removed. The other streams never pause.
  Result<StreamState> remove_stream(int id);
  // The model changes while the run goes on (a service's reload): the next batch is preprocessed
  // for `next` (its input size) and inferred and decoded by it; the batches already past the
  // batcher finish with the model they were preprocessed for. No frame waits or is dropped for
  // it. `next` must be loaded and warm, take the same batch sizes, and have the same device.
  // The run's summary lists the change (RunStats::model_changes).
  void use_backend(std::shared_ptr<InferenceBackend> next);
  // Every stream so far (removed ones included, marked), by id.
  std::vector<StreamState> streams() const;
  // Batches inferred so far, for a service's metrics.
  int64_t batches_done() const;

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
