#pragma once
// The workers of `streaminfer launch`: a YAML file with a list of workers, each a name and any
// keys of `run --config` (sources, model, batch size, core binding, ...):
//   workers:
//     - name: lobby
//       source: [rtsp://10.0.0.5/1, rtsp://10.0.0.6/1]
//       batch-size: 2
//       core-bind: 0
//     - name: parking
//       source: rtsp://10.0.0.7/1
//       core-bind: 1
#include <filesystem>
#include <string>
#include <vector>

#include "config/run_options.h"
#include "streaminfer/status.h"

namespace streaminfer {

struct WorkerSpec {
  std::string name;
  std::filesystem::path config;       // the worker's `run --config` file, written by load_workers
  std::filesystem::path metrics_dir;  // where its runs write their CSVs and summaries
  RunOptions run;                     // what its config says
};

// Reads `path` and checks every worker as `run --config` would (errors name the file, the worker,
// the key and its line), then every file the workers and the launcher read and write against
// each other (two workers writing one --output, a worker's output over the workers file, ...;
// common/path_guard.h) and for writability; only then writes OUT_DIR/NAME/config.yaml (its run
// keys) for each worker.
Result<std::vector<WorkerSpec>> load_workers(const std::string& path,
                                             const std::filesystem::path& out_dir);

// The PathPlan check of load_workers, on workers already read.
Status check_launch_paths(const std::string& workers_file, const std::filesystem::path& out_dir,
                          const std::vector<WorkerSpec>& workers);

}  // namespace streaminfer
