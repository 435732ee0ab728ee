#pragma once
// --trace: the run's timeline in Chrome's trace format (Perfetto, chrome://tracing): a slice per
// stage on each thread's track, flows that follow a frame, queue depth and dropped frames as
// counters.
#include <memory>
#include <string>

#include "pipeline/output_peer.h"
#include "profile/trace_writer.h"

namespace streaminfer {

class TraceOutput : public OutputPeer {
 public:
  explicit TraceOutput(std::string path) : path_(std::move(path)) {}
  Role role() const override { return Role::kProfile; }
  // Only checks the path can be written: the file is made at start().
  Status open() override;
  Status start(int64_t run_start_ns, int num_streams) override;
  void on_batch(const Batch& batch, const BatchContext& context) override;
  void on_queue_sample(int64_t ts_ns, const std::vector<StreamQueueSample>& samples) override;
  Status close(const RunStats& stats, nlohmann::json& summary) override;
  std::vector<std::string> written_files() const override;

 private:
  std::string path_;
  std::unique_ptr<TraceWriter> trace_;
};

}  // namespace streaminfer
