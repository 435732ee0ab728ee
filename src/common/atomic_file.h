#pragma once
// Files written whole or not at all: the content goes to a file beside the target, which is then
// renamed over it. A stop, a crash or a full disk while writing leaves the previous file (or
// none), never half of one.
#include <string>
#include <string_view>

#include "streaminfer/status.h"

namespace streaminfer {

// Creates the parent folders; `what` names the file in errors ("summary", "report").
Status write_file_atomically(const std::string& path, std::string_view content,
                             std::string_view what);

// The name to write beside `path` before renaming it into place (same folder, so the rename is
// atomic): "PATH.partial.PID".
std::string partial_path_of(const std::string& path);

}  // namespace streaminfer
