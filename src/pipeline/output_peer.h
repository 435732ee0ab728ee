#pragma once
// One interface for everything a run writes or sends: the detections as JSON Lines, the MQTT
// sinks, the profiler's CSVs and trace, a service's metrics registry. RunOutputs opens, starts,
// feeds and closes its peers, the built-in ones and those a caller plugs in
// (PipelineOptions::peers), all alike. The run hands each peer every completed batch once, from
// the postprocess thread, every frame dropped before inference (any thread), and the queue
// samples (every 100 ms, sampler thread). A peer never blocks: the hot stages wait for it.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/batch.h"
#include "profile/run_stats.h"
#include "profile/timeline.h"
#include "sink/jsonl_writer.h"
#include "streaminfer/status.h"

namespace streaminfer {

// One stream's queue at a sample: the streams running at that moment, and a removed one until
// its frames had their results (its last row has its final counts; none after).
struct StreamQueueSample {
  int stream_id = 0;
  size_t depth = 0;
  int64_t dropped = 0;  // dropped so far by its overflow policy
  int64_t done = 0;     // frames with a result so far
};

// What the run knows of a batch besides the batch itself, the same for every peer.
class BatchContext {
 public:
  using Tagger = std::function<JsonlTags(const Frame&)>;
  // `labels`: the class names of the model that inferred the batch. `tags`: what a frame's JSONL
  // line carries besides its results (null: nothing).
  BatchContext(const Batch& batch, const std::vector<std::string>& labels, Tagger tags = {});

  const std::vector<std::string>& labels() const { return labels_; }
  // Frame i's JSONL line (without its '\n'): formatted once, for every peer that sends it.
  const std::string& line(size_t i) const;
  // The batch's timestamps for the timeline exporters, with the recalls and the delivering time
  // (made once, on first use: after those are set).
  const BatchTimeline& timeline() const;

  // For the profiling peers (OutputPeer::Role::kProfile), set before they see the batch: when the
  // delivering peers ran, and each frame's recall against its ground truth (empty: none tracked).
  int64_t delivered_start = 0, delivered_end = 0;
  std::vector<double> recalls;

 private:
  const Batch& batch_;
  const std::vector<std::string>& labels_;
  Tagger tags_;
  mutable std::vector<std::string> lines_;  // filled by line() on first use
  mutable std::optional<BatchTimeline> timeline_;
};

class OutputPeer {
 public:
  // Delivering peers (results: JSONL, MQTT, metrics) see a batch first, and the time they take
  // is the run's "sinks" time; profiling peers (CSVs, trace) see it after, with that time and the
  // frames' recalls.
  enum class Role { kDeliver, kProfile };

  virtual ~OutputPeer() = default;
  virtual Role role() const { return Role::kDeliver; }
  // Before the run: creates what can fail early (a path that cannot be written); the message
  // names the flag.
  virtual Status open() { return Status::ok(); }
  // The run starts now (timestamps are relative to it) with `num_streams` streams so far.
  virtual Status start(int64_t /*run_start_ns*/, int /*num_streams*/) { return Status::ok(); }
  virtual void on_batch(const Batch& batch, const BatchContext& context) = 0;
  virtual void on_dropped(const Frame& /*frame*/) {}
  virtual void on_queue_sample(int64_t /*ts_ns*/,
                               const std::vector<StreamQueueSample>& /*samples*/) {}
  // The run ended: flushes and closes; may add its own block to the summary JSON.
  virtual Status close(const RunStats& /*stats*/, nlohmann::json& /*summary*/) {
    return Status::ok();
  }
  // What it wrote, after close().
  virtual std::vector<std::string> written_files() const { return {}; }
};

}  // namespace streaminfer
