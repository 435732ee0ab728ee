// `streaminfer launch FILE`: the workers' YAML, each worker's run keys written to
// OUT_DIR/NAME/config.yaml and read back as `run --config` would. OUT_DIR is a private scratch
// directory, emptied after each input.
#include <cstdint>
#include <filesystem>
#include <set>

#include "fuzz_support.h"
#include "launch/worker_config.h"

using streaminfer::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static streaminfer::fuzz::InputFile file;
  static streaminfer::fuzz::ScratchDir out;
  const std::string& path = file.write(data, size);
  auto workers = streaminfer::load_workers(path, out.path());
  if (workers) {
    std::set<std::string> dirs;
    for (const auto& worker : workers.value()) {
      // Worker names become folder names: each must stay inside OUT_DIR, one folder each.
      check(worker.metrics_dir.parent_path() == out.path(), "worker folder inside OUT_DIR",
            worker.metrics_dir.string());
      check(dirs.insert(worker.name).second, "one folder per worker", worker.name);
      check(std::filesystem::is_regular_file(worker.config), "config written");
    }
  }
  out.empty();
  return 0;
}
