#pragma once
// The end-of-run summary as JSON, S_{model}_P_{pid}_summary.json next to the CSVs, so that
// `streaminfer report` and scripts read the same figures the table shows.
#include <nlohmann/json.hpp>
#include <string>

#include "profile/run_stats.h"
#include "streaminfer/status.h"

namespace streaminfer {

// system: the system-information block as JSON (may be empty).
nlohmann::json summary_to_json(const RunStats& stats, const std::string& model,
                               const nlohmann::json& system);

Status write_summary_json(const std::string& path, const nlohmann::json& summary);

}  // namespace streaminfer
