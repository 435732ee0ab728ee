#include "config/yaml_file.h"

#include <fmt/format.h>

#include <filesystem>

namespace streaminfer {

Result<YAML::Node> load_yaml_file(const std::string& path, const std::string& what) {
  if (!std::filesystem::exists(path)) {
    return Status::error(fmt::format("{}: file '{}' not found", what, path));
  }
  try {
    return YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return Status::error(fmt::format("{} '{}': invalid YAML at line {}, column {}: {}", what, path,
                                     e.mark.line + 1, e.mark.column + 1, e.msg));
  }
}

}  // namespace streaminfer
