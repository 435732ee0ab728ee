#pragma once
// --sink mqtt://...: each frame's JSON line to its broker's events topic and, every second, a
// stats message (rates and totals per stream); one line per sink and the summary's "sinks" block
// at the end. A broker that is down is one warning: its sink queues and keeps retrying.
#include <memory>
#include <string>
#include <vector>

#include "pipeline/output_peer.h"
#include "sink/mqtt_sink.h"
#include "sink/stats_message.h"

namespace streaminfer {

class MqttOutput : public OutputPeer {
 public:
  explicit MqttOutput(std::vector<std::string> uris) : uris_(std::move(uris)) {}
  // A malformed URI is an error; brokers are connected to all at once, and the ones that have
  // not answered within a second are said.
  Status open() override;
  Status start(int64_t run_start_ns, int num_streams) override;
  void on_batch(const Batch& batch, const BatchContext& context) override;
  // Publishes the stats message when one is due (sampler thread).
  void on_queue_sample(int64_t ts_ns, const std::vector<StreamQueueSample>& samples) override;
  // The final stats message, then every sink flushed (for up to 2 s in all) and said in one line
  // on the info stream.
  Status close(const RunStats& stats, nlohmann::json& summary) override;

 private:
  std::vector<std::string> uris_;
  std::vector<std::unique_ptr<MqttSink>> sinks_;
  int64_t run_start_ns_ = 0;
  // The last stats message's numbers, for the rates of the next one, and the run's totals
  // (sampler thread only).
  StatsSnapshot last_stats_;
  StatsTotals totals_;
};

}  // namespace streaminfer
