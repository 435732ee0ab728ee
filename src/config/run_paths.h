#pragma once
// The files a run reads and writes, as its options name them, for PathPlan (common/path_guard.h).
#include <string>

#include "common/path_guard.h"
#include "config/run_options.h"

namespace streaminfer {

// Inputs: local source files, a model file, --weights, --config; outputs: --output, --trace,
// --retrain-save, the --metrics-dir folder. `prefix` goes before each flag in messages
// ("worker 'lobby': --output").
void add_run_paths(PathPlan& plan, const RunOptions& options, const std::string& prefix = "");

}  // namespace streaminfer
