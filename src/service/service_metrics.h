#pragma once
// The service's metrics registry: an output peer of the run (pipeline/output_peer.h) that keeps
// the stage-latency and batch-size histograms since the service started, and renders them with
// the streams' own counters (Pipeline::streams()) for GET /metrics (Prometheus text) and
// GET /stats (JSON). Thread-safe: the postprocess and sampler threads feed it while HTTP threads
// read it.
#include <nlohmann/json.hpp>

#include <array>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "pipeline/output_peer.h"
#include "pipeline/pipeline.h"
#include "profile/latency_histogram.h"
#include "profile/run_stats.h"
#include "service/prometheus_text.h"

namespace streaminfer {

// What the service runs, for the info metric and GET /stats.
struct ServiceDescription {
  std::string version;
  std::string model;
  std::string precision;
  std::string device;
  int input_width = 0, input_height = 0;
  int batch_size = 0;
  std::string worker;  // a fleet worker's id: a label of every metric; empty: none
};

class ServiceMetrics : public OutputPeer {
 public:
  ServiceMetrics();

  void on_batch(const Batch& batch, const BatchContext& context) override;
  void on_queue_sample(int64_t ts_ns, const std::vector<StreamQueueSample>& samples) override;

  // Prometheus text exposition of everything: per-stream counters and gauges (label `stream`:
  // its name), stage and batch-size histograms, batches, process memory, descriptors, threads,
  // and an info metric with the model and precision.
  std::string prometheus(const std::vector<StreamState>& streams, const ServiceDescription& what,
                         int64_t batches) const;
  // What the live display shows, as JSON: per stream its counts, frames per second over the
  // last second and queue; per stage count and p50/p95/p99 ms; totals.
  nlohmann::json stats_json(const std::vector<StreamState>& streams, const ServiceDescription& what,
                            int64_t batches) const;

 private:
  static constexpr size_t kStages = static_cast<size_t>(Stage::kCount);

  mutable std::mutex mutex_;
  int64_t start_ns_ = 0;
  std::array<PrometheusHistogram, kStages> stage_seconds_;
  std::array<LatencyHistogram, kStages> stage_ms_;  // for the percentiles of GET /stats
  PrometheusHistogram batch_sizes_;
  // Frames with a result per stream at the start of the current rate window, and the rates of
  // the last complete window (frames per second).
  int64_t window_start_ns_ = 0;
  std::map<int, int64_t> window_start_done_;
  std::map<int, double> fps_;
};

}  // namespace streaminfer
