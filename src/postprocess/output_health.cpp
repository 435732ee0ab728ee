#include "postprocess/output_health.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace streaminfer {

namespace {

// Scores this far outside [0, 1] are not float rounding of a sigmoid's output.
constexpr float kScoreSlack = 1e-3f;

// x - x is 0 for every finite x and NaN for NaN and both infinities: a branch-free test the
// compiler vectorizes, where std::isfinite in a loop is a call per value.
int64_t count_non_finite(const float* values, size_t n) {
  int64_t count = 0;
  for (size_t i = 0; i < n; ++i) count += static_cast<int64_t>(!(values[i] - values[i] == 0.0f));
  return count;
}

}  // namespace

OutputHealth check_detector_output(const float* frame, int channels, int64_t anchors) {
  OutputHealth health;
  if (frame == nullptr || channels <= 4 || anchors <= 0) return health;
  const size_t a = static_cast<size_t>(anchors);
  health.non_finite = count_non_finite(frame, static_cast<size_t>(channels) * a);
  const float* scores = frame + 4 * a;
  const size_t n = static_cast<size_t>(channels - 4) * a;
  float low = health.min_score, high = health.max_score;
  for (size_t i = 0; i < n; ++i) {
    const float s = scores[i];
    // NaN compares false both ways and so leaves the range alone; infinities are not scores.
    if (std::isinf(s)) continue;
    low = s < low ? s : low;
    high = s > high ? s : high;
  }
  health.min_score = low;
  health.max_score = high;
  return health;
}

OutputHealth check_logits(const float* logits, int classes) {
  OutputHealth health;
  if (logits != nullptr && classes > 0) {
    health.non_finite = count_non_finite(logits, static_cast<size_t>(classes));
  }
  return health;
}

OutputHealthMonitor::OutputHealthMonitor(std::string model_name, bool detector)
    : model_name_(std::move(model_name)), detector_(detector) {}

void OutputHealthMonitor::set_model(std::string model_name, bool detector) {
  std::lock_guard lock(mutex_);
  model_name_ = std::move(model_name);
  detector_ = detector;
  scores_warned_ = false;  // the new model's scores have not been seen yet
}

std::vector<std::string> OutputHealthMonitor::on_frame(int stream, int64_t frame,
                                                       const OutputHealth& health) {
  std::vector<std::string> warnings;
  const bool scores_out_of_range =
      detector_ && health.max_score >= health.min_score &&
      (health.min_score < -kScoreSlack || health.max_score > 1.0f + kScoreSlack);
  if (health.non_finite == 0 && !scores_out_of_range) return warnings;
  std::lock_guard lock(mutex_);
  if (health.non_finite > 0 && non_finite_frames_[stream]++ == 0) {
    warnings.push_back(fmt::format(
        "stream {}: model '{}' output {} NaN or infinite value(s) for frame {}; {} from them are "
        "left out and such frames are counted in the summary (broken weights, or an overflow in "
        "a reduced precision: check --weights, try --precision fp32)",
        stream, model_name_, health.non_finite, frame,
        detector_ ? "boxes and scores" : "class scores"));
  }
  if (scores_out_of_range && !scores_warned_) {
    scores_warned_ = true;
    warnings.push_back(fmt::format(
        "model '{}' outputs class scores from {:.4g} to {:.4g}, outside [0, 1] (first at stream "
        "{} frame {}): it most likely ends without the sigmoid of a YOLOv8 head (export it with "
        "the head's activation); --conf compares the raw values and the scores written are not "
        "probabilities",
        model_name_, health.min_score, health.max_score, stream, frame));
  }
  return warnings;
}

int64_t OutputHealthMonitor::non_finite_frames(int stream) const {
  std::lock_guard lock(mutex_);
  auto found = non_finite_frames_.find(stream);
  return found == non_finite_frames_.end() ? 0 : found->second;
}

}  // namespace streaminfer
