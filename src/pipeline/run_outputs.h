#pragma once
// Everything a run writes besides stdout: detections (JSONL), the per-batch and per-frame CSVs,
// queue-depth samples, the trace timeline, the summary JSON and the MQTT sinks (per-frame events
// and a stats message every second). The pipeline hands over each completed batch once, from the
// postprocess thread, so the hot stages never touch a file or the network.
#include <nlohmann/json.hpp>

#include <fstream>
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
#include "profile/frame_csv.h"
#include "profile/metrics_csv.h"
#include "profile/run_stats.h"
#include "profile/trace_writer.h"
#include "sink/jsonl_writer.h"
#include "sink/mqtt_sink.h"
#include "sink/stats_message.h"
#include "streaminfer/status.h"

namespace streaminfer {

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
  explicit RunOutputs(OutputOptions options);
  // Creates the files that can be created before the run, so a bad path fails before any work,
  // and starts connecting the sinks (a malformed URI is an error, a broker that is down is not:
  // one warning line, and the sink keeps retrying).
  Status open();
  // The run starts now: files whose timestamps are relative to the start open here.
  Status start(int64_t run_start_ns, int num_streams);
  // Before start(): evaluates the frames of the streams the tracker tracks (accuracy in the
  // summary, a recall per frame in the per-frame CSV).
  void track_accuracy(std::unique_ptr<AccuracyTracker> tracker);
  void on_batch(const Batch& batch, const std::vector<std::string>& labels);
  // A frame dropped before inference (any thread): counted as missed by the accuracy figures.
  void on_dropped(const Frame& frame);
  // The run's accuracy once every frame was handed over; nullopt when nothing is tracked.
  std::optional<RunAccuracy> accuracy() const;
  // Queue depth, dropped frames and frames with a result of each running stream at `ts_ns`;
  // publishes the sinks' stats message when one is due.
  void on_queue_sample(int64_t ts_ns, const std::vector<StreamQueueSample>& samples);
  // Flushes everything (the sinks for up to 2 s each), prints one line per sink on stdout and
  // writes the summary JSON (with a "sinks" block when there are sinks).
  Status close(const RunStats& stats, const nlohmann::json& system);

  std::vector<std::string> written_files() const;
  // Every file the outputs will write, as (flag, path), before open(): for PathPlan.
  std::vector<std::pair<std::string, std::string>> planned_files() const;
  // `--output -` and the reader closed stdout (`| head -1`): later lines go nowhere. Postprocess
  // thread.
  bool stdout_closed() const { return stdout_closed_; }

 private:
  std::string metrics_path(char prefix, const std::string& suffix) const;
  nlohmann::json close_sinks(const RunStats& stats);

  OutputOptions options_;
  int64_t run_start_ns_ = 0;
  std::unique_ptr<JsonlWriter> jsonl_;
  bool stdout_closed_ = false;
  std::unique_ptr<MetricsCsvWriter> batch_csv_;
  std::unique_ptr<FrameCsvWriter> frame_csv_;
  std::unique_ptr<TraceWriter> trace_;
  std::ofstream queue_csv_;
  std::string queue_csv_path_, summary_path_;

  std::unique_ptr<AccuracyTracker> accuracy_;
  std::optional<std::vector<std::string>> accuracy_labels_;  // the first batch's model's
  std::vector<double> recalls_;  // per frame of the batch in on_batch (postprocess thread)

  std::vector<std::unique_ptr<MqttSink>> sinks_;
  // The last stats message's numbers, for the rates of the next one (sampler thread only).
  StatsSnapshot last_stats_;
};

}  // namespace streaminfer
