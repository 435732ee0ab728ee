#pragma once
// Everything a run writes besides stdout, as its output peers (pipeline/output_peer.h): the
// detections (JSONL), the MQTT sinks, the per-batch, per-frame and queue CSVs, the trace
// timeline, and those a caller plugs in (a service's metrics registry); then the summary JSON.
// The pipeline hands over each completed batch once, from the postprocess thread, so the hot
// stages never touch a file or the network.
#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pipeline/batch.h"
#include "pipeline/output_peer.h"
#include "profile/accuracy_tracker.h"
#include "profile/run_stats.h"
#include "streaminfer/status.h"

namespace streaminfer {

class JsonlOutput;

struct OutputOptions {
  std::string output_jsonl;  // empty: none
  std::string metrics_dir;   // empty: no CSVs, no summary JSON
  std::string trace_path;    // empty: no trace
  std::string model_name;
  std::vector<std::string> sinks;  // mqtt://host[:port]/topic URIs
  std::vector<std::shared_ptr<OutputPeer>> peers;
  // A fleet worker's id, on every JSONL line; empty: none.
  std::string worker_id;
  // A stream's name by id (empty: it has none), for its JSONL lines; unset: no names.
  std::function<std::string_view(int stream_id)> stream_name;
};

class RunOutputs {
 public:
  // The built-in peers the options ask for come first, in this order: JSONL, the CSVs, the
  // trace, MQTT; then options.peers.
  explicit RunOutputs(OutputOptions options);
  ~RunOutputs();
  // Opens every peer (files that can be created before the run, so a bad path fails before any
  // work; the sinks start connecting: a malformed URI is an error, a broker that is down is
  // not: one warning line, and the sink keeps retrying).
  Status open();
  // The run starts now: files whose timestamps are relative to the start open here.
  Status start(int64_t run_start_ns, int num_streams);
  // Before start(): evaluates the frames of the streams the tracker tracks (accuracy in the
  // summary, a recall per frame in the per-frame CSV) while the batches come from a model with
  // `labels`, the classes the tracker counts in (a model that replaced it with others is not).
  void track_accuracy(std::unique_ptr<AccuracyTracker> tracker, std::vector<std::string> labels);
  // The delivering peers, then the accuracy of its frames, then the profiling peers.
  void on_batch(const Batch& batch, const std::vector<std::string>& labels);
  // A frame dropped before inference (any thread): counted as missed by the accuracy figures.
  void on_dropped(const Frame& frame);
  // The run's accuracy once every frame was handed over; nullopt when nothing is tracked.
  std::optional<RunAccuracy> accuracy() const;
  // Queue depth, dropped frames and frames with a result of each running stream at `ts_ns`.
  void on_queue_sample(int64_t ts_ns, const std::vector<StreamQueueSample>& samples);
  // Closes every peer (the sinks flush for up to 2 s in all and say so, one line each on
  // stdout) and writes the summary JSON with the blocks the peers added (e.g. "sinks").
  Status close(const RunStats& stats, const nlohmann::json& system);

  std::vector<std::string> written_files() const;
  // Every file the outputs will write, as (flag, path), before open(): for PathPlan.
  std::vector<std::pair<std::string, std::string>> planned_files() const;
  // `--output -` and the reader closed stdout (`| head -1`): later lines go nowhere. Postprocess
  // thread.
  bool stdout_closed() const;

 private:
  std::string metrics_path(char prefix, const std::string& suffix) const;

  OutputOptions options_;
  std::vector<std::shared_ptr<OutputPeer>> peers_;  // built-in ones first
  std::shared_ptr<JsonlOutput> jsonl_;              // among peers_, when --output is given
  std::string summary_path_;

  std::unique_ptr<AccuracyTracker> accuracy_;
  std::vector<std::string> accuracy_labels_;
};

}  // namespace streaminfer
