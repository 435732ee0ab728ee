#pragma once
// --metrics-dir's CSVs: one row per batch (M_..._metrics.csv: read / preprocess / execute /
// postprocess latency), one per frame (F_..._frames.csv: every stage's timestamps, its recall)
// and the queue samples (Q_..._queues.csv: depth and dropped frames of each stream). The
// summary JSON beside them is the run's (RunOutputs).
#include <fstream>
#include <memory>
#include <string>

#include "pipeline/output_peer.h"
#include "profile/frame_csv.h"
#include "profile/metrics_csv.h"

namespace streaminfer {

class ProfilerCsvOutput : public OutputPeer {
 public:
  ProfilerCsvOutput(std::string batch_csv, std::string frame_csv, std::string queue_csv)
      : batch_path_(std::move(batch_csv)),
        frame_path_(std::move(frame_csv)),
        queue_path_(std::move(queue_csv)) {}
  Role role() const override { return Role::kProfile; }
  Status open() override;
  Status start(int64_t run_start_ns, int num_streams) override;
  void on_batch(const Batch& batch, const BatchContext& context) override;
  void on_queue_sample(int64_t ts_ns, const std::vector<StreamQueueSample>& samples) override;
  Status close(const RunStats& stats, nlohmann::json& summary) override;
  std::vector<std::string> written_files() const override;

 private:
  std::string batch_path_, frame_path_, queue_path_;
  int64_t run_start_ns_ = 0;
  std::unique_ptr<MetricsCsvWriter> batch_csv_;
  std::unique_ptr<FrameCsvWriter> frame_csv_;
  std::ofstream queue_csv_;
};

}  // namespace streaminfer
