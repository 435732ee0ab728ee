#include "profile/accuracy_tracker.h"

#include <algorithm>

#include "streaminfer/clock.h"

namespace streaminfer {

struct AccuracyTracker::StreamState {
  explicit StreamState(int num_classes) : processed(num_classes), dropped(num_classes) {}
  DetectionEvaluator processed;  // postprocess thread only

  // Frames dropped before inference arrive from the stream's source thread; the lock keeps that
  // true should another thread ever drop frames too. Uncontended: a lock per stream.
  std::mutex dropped_mutex;
  DetectionEvaluator dropped;
  double dropped_ms = 0;
};

AccuracyTracker::AccuracyTracker(const std::vector<bool>& has_ground_truth,
                                 std::vector<std::string> class_names, double score_threshold)
    : class_names_(std::move(class_names)), score_threshold_(score_threshold) {
  const int num_classes = static_cast<int>(class_names_.size());
  for (bool tracked : has_ground_truth) {
    streams_.push_back(tracked ? std::make_unique<StreamState>(num_classes) : nullptr);
  }
}

AccuracyTracker::~AccuracyTracker() = default;

bool AccuracyTracker::tracks(int stream_id) const {
  return stream_id >= 0 && stream_id < static_cast<int>(streams_.size()) &&
         streams_[static_cast<size_t>(stream_id)] != nullptr;
}

double AccuracyTracker::on_result(const Frame& frame) {
  if (!tracks(frame.stream_id)) return -1;
  const int64_t start = now_ns();
  StreamState& stream = *streams_[static_cast<size_t>(frame.stream_id)];
  stream.processed.add(frame.detections, frame.ground_truth);
  const double recall = frame_recall(frame.detections, frame.ground_truth);
  result_ms_ += ns_to_ms(now_ns() - start);
  return recall;
}

void AccuracyTracker::on_dropped(const Frame& frame) {
  if (!tracks(frame.stream_id)) return;
  StreamState& stream = *streams_[static_cast<size_t>(frame.stream_id)];
  const int64_t start = now_ns();
  std::lock_guard lock(stream.dropped_mutex);
  // No detections: only the ground truth is counted, which costs a pass over its boxes.
  stream.dropped.add({}, frame.ground_truth);
  stream.dropped_ms += ns_to_ms(now_ns() - start);
}

std::vector<std::string> accuracy_class_names(
    const std::vector<std::vector<std::string>>& source_classes,
    const std::vector<std::string>& model_labels) {
  size_t count = model_labels.size();
  for (const auto& names : source_classes) count = std::max(count, names.size());
  std::vector<std::string> names(count);
  for (size_t c = 0; c < count; ++c) {
    for (const auto& source : source_classes) {
      if (c < source.size() && !source[c].empty()) {
        names[c] = source[c];
        break;
      }
    }
    if (names[c].empty()) {
      names[c] = c < model_labels.size() ? model_labels[c] : "class " + std::to_string(c);
    }
  }
  return names;
}

RunAccuracy AccuracyTracker::finish() const {
  RunAccuracy run;
  run.score_threshold = score_threshold_;
  run.class_names = class_names_;
  run.evaluation_ms = result_ms_;
  const int num_classes = static_cast<int>(class_names_.size());
  DetectionEvaluator all_processed(num_classes), all_dropped(num_classes);
  for (size_t i = 0; i < streams_.size(); ++i) {
    if (!streams_[i]) continue;
    StreamState& state = *streams_[i];
    std::lock_guard lock(state.dropped_mutex);
    StreamAccuracy s;
    s.stream_id = static_cast<int>(i);
    s.processed = state.processed.result();
    DetectionEvaluator with_dropped = state.processed;
    with_dropped.merge(state.dropped);
    s.with_dropped = with_dropped.result();
    s.dropped_frames = state.dropped.images();
    run.evaluation_ms += state.dropped_ms;
    run.streams.push_back(std::move(s));
    all_processed.merge(state.processed);
    all_dropped.merge(state.dropped);
  }
  run.overall.processed = all_processed.result();
  run.overall.dropped_frames = all_dropped.images();
  all_processed.merge(all_dropped);
  run.overall.with_dropped = all_processed.result();
  return run;
}

}  // namespace streaminfer
