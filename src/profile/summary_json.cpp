#include "profile/summary_json.h"

#include "common/atomic_file.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>

namespace streaminfer {

nlohmann::json summary_to_json(const RunStats& stats, const std::string& model,
                               const nlohmann::json& system) {
  nlohmann::json j;
  j["model"] = model;
  if (!stats.precision.empty()) {
    j["precision"] = {{"ran", stats.precision}, {"why", stats.precision_why}};
    if (!stats.calibration.empty()) j["precision"]["calibration"] = stats.calibration;
  }
  if (!stats.model_changes.empty()) j["model_changes"] = stats.model_changes;
  j["wall_seconds"] = stats.wall_seconds;
  j["frames"] = stats.total_frames_done();
  j["fps"] = stats.wall_seconds > 0
                 ? static_cast<double>(stats.total_frames_done()) / stats.wall_seconds
                 : 0.0;
  j["batches"] = stats.batches;
  j["streams"] = nlohmann::json::array();
  for (const auto& s : stats.streams) {
    j["streams"].push_back({{"id", s.stream_id},
                            {"uri", s.uri},
                            {"status", s.status},
                            {"frames", s.frames_done},
                            {"decoded", s.frames_decoded},
                            {"fps", s.fps(stats.wall_seconds)},
                            {"skipped", s.skipped},
                            {"dropped", s.dropped},
                            {"reconnects", s.reconnects},
                            {"decode_errors", s.decode_errors},
                            {"unprocessed", s.unprocessed},
                            {"non_finite_frames", s.non_finite_frames}});
  }
  j["stages"] = nlohmann::json::array();
  for (int i = 0; i < static_cast<int>(Stage::kCount); ++i) {
    const auto stage = static_cast<Stage>(i);
    const auto& h = stats.stage(stage);
    j["stages"].push_back({{"name", stage_name(stage)},
                           {"count", h.count()},
                           {"mean_ms", h.mean()},
                           {"p50_ms", h.percentile(50)},
                           {"p95_ms", h.percentile(95)},
                           {"p99_ms", h.percentile(99)},
                           {"max_ms", h.max()},
                           {"busy_share", busy_share(stats, stage)}});
  }
  const Stage bottleneck = bottleneck_stage(stats);
  j["bottleneck"] = bottleneck == Stage::kCount ? "unknown" : stage_name(bottleneck);
  if (stats.retrain) j["retrain"] = retrain_to_json(*stats.retrain);
  // null when the run ended by itself, so a reader can tell the two apart without guessing.
  j["interrupted"] = nullptr;
  if (const auto& stop = stats.stopped; stop) {
    j["interrupted"] = {
        {"by", stop->cause},
        {"phase", stop->phase},
        {"after_s", stop->after_s},
        {"at", stop->at_time},
        {"second_by",
         stop->second_cause.empty() ? nlohmann::json(nullptr) : nlohmann::json(stop->second_cause)},
        {"unprocessed", stop->unprocessed}};
  }
  if (stats.accuracy) j["accuracy"] = accuracy_to_json(*stats.accuracy);
  j["system"] = system.is_null() ? nlohmann::json::object() : system;
  return j;
}

Status write_summary_json(const std::string& path, const nlohmann::json& summary) {
  return write_file_atomically(path, summary.dump(2) + "\n", "summary");
}

}  // namespace streaminfer
