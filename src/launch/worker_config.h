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

#include "streaminfer/status.h"

namespace streaminfer {

struct WorkerSpec {
  std::string name;
  std::filesystem::path config;       // the worker's `run --config` file, written by load_workers
  std::filesystem::path metrics_dir;  // where its runs write their CSVs and summaries
};

// Reads `path`, and for each worker writes OUT_DIR/NAME/config.yaml (its run keys) and checks it
// as `run --config` would. Errors name the file, the worker and the key.
Result<std::vector<WorkerSpec>> load_workers(const std::string& path,
                                             const std::filesystem::path& out_dir);

}  // namespace streaminfer
