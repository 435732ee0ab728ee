#pragma once
// What a model's output says about the model itself, checked per frame before anything is
// decoded from it: values that are not numbers (NaN, infinity: broken weights, an overflow in a
// reduced precision) and, for a detector, class scores outside [0, 1] (a head exported without
// its sigmoid). Nothing invalid reaches a JSON line, and a broken model is named once instead of
// giving empty or absurd results silently.
#include <cstdint>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace streaminfer {

struct OutputHealth {
  int64_t non_finite = 0;  // NaN or infinite values in the frame's output
  // Detectors: the range of the finite class scores; +inf / -inf when there were none.
  float min_score = std::numeric_limits<float>::infinity();
  float max_score = -std::numeric_limits<float>::infinity();
};

// One frame of a [B, 4 + nc, A] detector output (its 4 + nc rows of `anchors` floats).
OutputHealth check_detector_output(const float* frame, int channels, int64_t anchors);
// One frame of [B, nc] logits.
OutputHealth check_logits(const float* logits, int classes);

// Collects what check_*() found over a run, per stream, and says each kind of problem once: the
// first frame of each stream with non-finite values, and the first detector scores outside
// [0, 1] of the run. Thread-safe.
class OutputHealthMonitor {
 public:
  OutputHealthMonitor(std::string model_name, bool detector);

  // Returns the warning lines this frame raises (without the "streaminfer: warning: " prefix);
  // usually none.
  std::vector<std::string> on_frame(int stream, int64_t frame, const OutputHealth& health);
  // The model changed mid-run (a service's reload): the next frames are its. Call it on the
  // thread that calls on_frame().
  void set_model(std::string model_name, bool detector);
  // Frames of `stream` whose output held non-finite values.
  int64_t non_finite_frames(int stream) const;

 private:
  std::string model_name_;
  bool detector_;
  mutable std::mutex mutex_;
  std::map<int, int64_t> non_finite_frames_;
  bool scores_warned_ = false;
};

}  // namespace streaminfer
