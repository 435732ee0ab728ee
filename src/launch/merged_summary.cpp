#include "launch/merged_summary.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace streaminfer {

void add_run_summary(const nlohmann::json& summary, WorkerTotals& totals) {
  totals.runs++;
  totals.wall_seconds += summary.value("wall_seconds", 0.0);
  totals.frames += summary.value("frames", int64_t{0});
  const auto& streams = summary.value("streams", nlohmann::json::array());
  totals.streams = std::max(totals.streams, static_cast<int>(streams.size()));
  for (const auto& stream : streams) {
    totals.dropped += stream.value("dropped", int64_t{0});
    totals.reconnects += stream.value("reconnects", int64_t{0});
  }
}

std::vector<WorkerTotals> collect_worker_totals(const std::vector<WorkerState>& workers) {
  std::vector<WorkerTotals> all;
  for (const auto& worker : workers) {
    WorkerTotals totals;
    totals.name = worker.spec.name;
    totals.status = worker.status;
    totals.restarts = worker.restarts;
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(worker.spec.metrics_dir, error)) {
      const std::string file = entry.path().filename().string();
      if (file.rfind("S_", 0) != 0 || file.find("_summary.json") == std::string::npos) continue;
      try {
        add_run_summary(nlohmann::json::parse(std::ifstream(entry.path())), totals);
      } catch (const nlohmann::json::exception&) {
        // A run killed while writing leaves no valid summary: its frames are not counted.
      }
    }
    all.push_back(std::move(totals));
  }
  return all;
}

std::string format_merged_summary(const std::vector<WorkerTotals>& workers) {
  size_t name_width = 6;
  for (const auto& w : workers) name_width = std::max(name_width, w.name.size());
  std::string out = "== streaminfer launch: merged summary ==\n";
  const auto row = [&](const std::string& name, const std::string& status,
                       const std::string& restarts, const std::string& streams,
                       const std::string& frames, const std::string& fps,
                       const std::string& dropped) {
    out += fmt::format("{:<{}}  {:<10}  {:>8}  {:>7}  {:>8}  {:>7}  {:>8}\n", name, name_width,
                       status.substr(0, 10), restarts, streams, frames, fps, dropped);
  };
  row("worker", "status", "restarts", "streams", "frames", "fps", "dropped");
  WorkerTotals total;
  double total_fps = 0;
  for (const auto& w : workers) {
    row(w.name, w.status, fmt::to_string(w.restarts), fmt::to_string(w.streams),
        fmt::to_string(w.frames), fmt::format("{:.1f}", w.fps()), fmt::to_string(w.dropped));
    total.restarts += w.restarts;
    total.streams += w.streams;
    total.frames += w.frames;
    total.dropped += w.dropped;
    total_fps += w.fps();  // workers run side by side: their rates add up
  }
  row("total", "", fmt::to_string(total.restarts), fmt::to_string(total.streams),
      fmt::to_string(total.frames), fmt::format("{:.1f}", total_fps),
      fmt::to_string(total.dropped));
  for (const auto& w : workers) {
    if (w.status.size() > 10) out += fmt::format("worker {}: {}\n", w.name, w.status);
  }
  return out;
}

nlohmann::json merged_summary_json(const std::vector<WorkerTotals>& workers) {
  nlohmann::json j;
  j["workers"] = nlohmann::json::array();
  for (const auto& w : workers) {
    j["workers"].push_back({{"name", w.name},
                            {"status", w.status},
                            {"restarts", w.restarts},
                            {"runs", w.runs},
                            {"streams", w.streams},
                            {"frames", w.frames},
                            {"fps", w.fps()},
                            {"dropped", w.dropped},
                            {"reconnects", w.reconnects},
                            {"wall_seconds", w.wall_seconds}});
  }
  return j;
}

}  // namespace streaminfer
