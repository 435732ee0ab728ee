#include "profile/run_accuracy.h"

#include <fmt/format.h>

#include <iterator>

namespace streaminfer {

namespace {

bool defined(const AccuracyResult& r) { return r.classes_with_ground_truth > 0; }

nlohmann::json map_or_null(const AccuracyResult& r, double value) {
  return defined(r) ? nlohmann::json(value) : nlohmann::json(nullptr);
}

nlohmann::json classes_to_json(const AccuracyResult& r, const std::vector<std::string>& names) {
  nlohmann::json classes = nlohmann::json::array();
  for (size_t c = 0; c < r.ap50_per_class.size(); ++c) {
    if (r.ap50_per_class[c] < 0) continue;  // no ground truth of this class: no AP
    classes.push_back({{"id", c},
                       {"name", c < names.size() ? names[c] : fmt::format("class {}", c)},
                       {"ap50", r.ap50_per_class[c]},
                       {"ap50_95", r.ap50_95_per_class[c]}});
  }
  return classes;
}

nlohmann::json stream_to_json(const StreamAccuracy& s, const std::vector<std::string>& names) {
  nlohmann::json j;
  if (s.stream_id >= 0) j["id"] = s.stream_id;
  const AccuracyResult& p = s.processed;
  j["map50"] = map_or_null(p, p.map50);
  j["map50_95"] = map_or_null(p, p.map50_95);
  j["images"] = p.images;
  j["ground_truths"] = p.ground_truths;
  j["detections"] = p.detections;
  j["classes"] = classes_to_json(p, names);
  const AccuracyResult& d = s.with_dropped;
  j["with_dropped"] = {{"dropped_frames", s.dropped_frames},
                       {"map50", map_or_null(d, d.map50)},
                       {"map50_95", map_or_null(d, d.map50_95)},
                       {"images", d.images},
                       {"ground_truths", d.ground_truths}};
  return j;
}

void append_stream(fmt::memory_buffer& out, const std::string& name, const StreamAccuracy& s) {
  const AccuracyResult& p = s.processed;
  if (!defined(p)) {
    fmt::format_to(std::back_inserter(out),
                   "  {}: no ground-truth object in {} frame(s), mAP undefined\n", name, p.images);
    return;
  }
  fmt::format_to(std::back_inserter(out),
                 "  {}: mAP@0.5 {:.3f}  mAP@0.5:0.95 {:.3f}  over {} frame(s) ({} objects, {} "
                 "detections)\n",
                 name, p.map50, p.map50_95, p.images, p.ground_truths, p.detections);
  if (s.dropped_frames > 0 && defined(s.with_dropped)) {
    fmt::format_to(std::back_inserter(out),
                   "  {:{}}  counting {} dropped frame(s) as misses: mAP@0.5 {:.3f}  mAP@0.5:0.95 "
                   "{:.3f}\n",
                   "", name.size(), s.dropped_frames, s.with_dropped.map50,
                   s.with_dropped.map50_95);
  }
}

}  // namespace

std::string format_accuracy(const RunAccuracy& accuracy) {
  fmt::memory_buffer out;
  fmt::format_to(std::back_inserter(out),
                 "accuracy against ground truth (COCO mAP; detections cut at --conf {:g}, which "
                 "understates the full-curve AP):\n",
                 accuracy.score_threshold);
  for (const StreamAccuracy& s : accuracy.streams) {
    append_stream(out, fmt::format("stream {}", s.stream_id), s);
  }
  if (accuracy.streams.size() > 1) append_stream(out, "all streams", accuracy.overall);
  return fmt::to_string(out);
}

nlohmann::json accuracy_to_json(const RunAccuracy& accuracy) {
  nlohmann::json j;
  j["score_threshold"] = accuracy.score_threshold;
  j["iou_thresholds"] = "0.50:0.05:0.95";
  j["evaluation_ms"] = accuracy.evaluation_ms;
  j["overall"] = stream_to_json(accuracy.overall, accuracy.class_names);
  j["streams"] = nlohmann::json::array();
  for (const StreamAccuracy& s : accuracy.streams) {
    j["streams"].push_back(stream_to_json(s, accuracy.class_names));
  }
  return j;
}

}  // namespace streaminfer
