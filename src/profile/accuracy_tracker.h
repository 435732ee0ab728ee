#pragma once
// Collects the accuracy of a run while it runs: every frame with a result (postprocess thread)
// and every frame dropped before inference (the source threads) of the streams whose source has
// ground truth. Matching is a few microseconds a frame (detection_metrics.h keeps 8 bytes per
// detection); it never runs on the inference thread.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "postprocess/detection_metrics.h"
#include "profile/run_accuracy.h"
#include "streaminfer/frame.h"

namespace streaminfer {

class AccuracyTracker {
 public:
  // has_ground_truth[i]: stream i's source knows the exact boxes; other streams are not tracked.
  // class_names: index = class id; ids beyond it are ignored.
  AccuracyTracker(const std::vector<bool>& has_ground_truth, std::vector<std::string> class_names,
                  double score_threshold);
  ~AccuracyTracker();

  bool tracks(int stream_id) const;
  // A frame with its detections, source pixels (one thread: the postprocess thread). Returns the
  // frame's recall at IoU 0.5, or -1 when its stream is not tracked.
  double on_result(const Frame& frame);
  // A frame dropped before inference: its ground truth counts as missed (any thread).
  void on_dropped(const Frame& frame);
  // After every thread that called on_result/on_dropped has been joined.
  RunAccuracy finish() const;

 private:
  struct StreamState;
  std::vector<std::unique_ptr<StreamState>> streams_;
  std::vector<std::string> class_names_;
  double score_threshold_;
  double result_ms_ = 0;  // on_result's time (postprocess thread only)
};

// The names of the class ids the evaluation uses: the sources' ground-truth class names (the
// first source that names an id wins), then the model's labels for ids no source names, then
// "class N". As many as the longest of those lists.
std::vector<std::string> accuracy_class_names(
    const std::vector<std::vector<std::string>>& source_classes,
    const std::vector<std::string>& model_labels);

}  // namespace streaminfer
