#pragma once
#include <string>
#include <string_view>

#include "streaminfer/status.h"

namespace streaminfer {

// Creates the directory an output file goes into, so that `--metrics-dir out/new/` or
// `--output results/det.jsonl` work without a mkdir first. `what` names the file in the error,
// e.g. "trace" gives "cannot create the directory 'x' for trace 'x/run.json': ...".
Status create_parent_directories(const std::string& file_path, std::string_view what);

}  // namespace streaminfer
