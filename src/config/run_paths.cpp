#include "config/run_paths.h"

#include <filesystem>

namespace streaminfer {

void add_run_paths(PathPlan& plan, const RunOptions& o, const std::string& prefix) {
  for (const auto& source : o.sources) {
    if (is_local_file_uri(source)) plan.input(prefix + "--source", source);
  }
  // A built-in model's name is no file; one that exists is read.
  std::error_code ec;
  if (std::filesystem::exists(o.model, ec)) plan.input(prefix + "--model", o.model);
  plan.input(prefix + "--weights", o.weights);
  plan.input(prefix + "--config", o.config);
  if (is_local_file_uri(o.calibration)) plan.input(prefix + "--calibration", o.calibration);
  // An existing cache is only read (one made for anything else is refused, never overwritten); a
  // new one is written.
  if (std::filesystem::exists(o.calibration_cache, ec)) {
    plan.input(prefix + "--calibration-cache", o.calibration_cache);
  } else {
    plan.output(prefix + "--calibration-cache", o.calibration_cache);
  }
  plan.output(prefix + "--output", o.output);
  plan.output(prefix + "--trace", o.trace);
  plan.output(prefix + "--retrain-save", o.retrain_save);
  plan.output_folder(prefix + "--metrics-dir", o.metrics_dir);
}

}  // namespace streaminfer
