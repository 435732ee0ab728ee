#pragma once
// Retrain mode's per-step record (loss and the three timed stages of one optimizer step) and the
// run's aggregate of them: the summary text's retrain block and the summary JSON's "retrain".
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "profile/latency_histogram.h"

namespace streaminfer {

// One optimizer step on one batch. Detector losses have box / cls / dfl parts; a classifier's
// cross-entropy has none (nullopt).
struct TrainStepRecord {
  double loss = 0;
  std::optional<double> box, cls, dfl;
  double forward_ms = 0, backward_ms = 0, optimizer_ms = 0;
  // Steady-clock ns when the forward started; the three stages follow each other from there.
  int64_t start_ns = 0;
};

struct RetrainStats {
  std::string model;  // e.g. "yolov8n: backbone frozen, neck and head trained (AdamW, lr 0.001)"
  // Streams whose labels were generated (no ground truth): their loss means nothing.
  std::vector<int> generated_label_streams;
  std::vector<double> losses;  // per step, in step order
  LatencyHistogram forward, backward, optimizer;

  void add(const TrainStepRecord& step);
  int64_t steps() const { return static_cast<int64_t>(losses.size()); }
  // Mean loss of the first / last 10% of steps (at least one step each); 0 without steps.
  double first_tenth_loss() const;
  double last_tenth_loss() const;
};

// "stream 1: generated labels (profiling only: the loss means nothing)"
std::string generated_labels_line(int stream_id);

std::string format_retrain(const RetrainStats& stats);
nlohmann::json retrain_to_json(const RetrainStats& stats);

}  // namespace streaminfer
