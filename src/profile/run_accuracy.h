#pragma once
// A run's accuracy against ground truth (sources that know exact boxes: synthetic cameras), per
// stream and over all of them, as the summary table and the summary JSON show it.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "postprocess/detection_metrics.h"

namespace streaminfer {

struct StreamAccuracy {
  int stream_id = -1;        // -1: all streams with ground truth together
  AccuracyResult processed;  // the frames that got a result
  // The same plus every frame dropped before inference, counted as a frame with no detections:
  // the accuracy a consumer of the stream actually got.
  AccuracyResult with_dropped;
  int64_t dropped_frames = 0;
};

struct RunAccuracy {
  double score_threshold = 0;            // detections below it were never kept (--conf)
  std::vector<std::string> class_names;  // index: class id
  std::vector<StreamAccuracy> streams;   // only the streams with ground truth
  StreamAccuracy overall;
  // Time spent matching detections to ground truth (postprocess and source threads), so that the
  // cost of measuring accuracy is itself measured.
  double evaluation_ms = 0;
};

// The summary's accuracy lines, e.g.
//   accuracy against ground truth (COCO mAP; ...):
//     stream 0: mAP@0.5 0.931  mAP@0.5:0.95 0.712  over 480 frames (2880 objects, 2701 ...)
//               counting 140 dropped frames as misses: mAP@0.5 0.710  mAP@0.5:0.95 0.540
std::string format_accuracy(const RunAccuracy& accuracy);

// The summary JSON's "accuracy" block. mAP values are null when there was no ground-truth object.
nlohmann::json accuracy_to_json(const RunAccuracy& accuracy);

}  // namespace streaminfer
