#pragma once
// One table for all the workers of `streaminfer launch`, from the summary JSON files their runs
// wrote (one per process: a restarted worker has several).
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "launch/supervisor.h"

namespace streaminfer {

struct WorkerTotals {
  std::string name;
  std::string status;
  int restarts = 0;
  int runs = 0;  // summary files found
  int streams = 0;
  int64_t frames = 0;
  int64_t dropped = 0;
  int64_t reconnects = 0;
  double wall_seconds = 0;  // summed over its runs
  double fps() const { return wall_seconds > 0 ? static_cast<double>(frames) / wall_seconds : 0; }
};

// Adds one run's summary JSON (as written by `run --metrics-dir`) to `totals`.
void add_run_summary(const nlohmann::json& summary, WorkerTotals& totals);

// Totals of each worker from the S_*_summary.json files in its metrics directory.
std::vector<WorkerTotals> collect_worker_totals(const std::vector<WorkerState>& workers);

std::string format_merged_summary(const std::vector<WorkerTotals>& workers);
nlohmann::json merged_summary_json(const std::vector<WorkerTotals>& workers);

}  // namespace streaminfer
