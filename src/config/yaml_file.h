#pragma once
// Loads a YAML file for a command that takes one (`run --config`, `launch`), with the errors both
// give: "<what>: file 'P' not found" and "<what> 'P': invalid YAML at line L, column C: ...".
#include <yaml-cpp/yaml.h>

#include <string>

#include "streaminfer/status.h"

namespace streaminfer {

Result<YAML::Node> load_yaml_file(const std::string& path, const std::string& what);

}  // namespace streaminfer
