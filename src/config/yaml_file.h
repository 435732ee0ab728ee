#pragma once
// Loads the YAML a command takes (`run --config`, `launch`), with the errors all of them give:
//   "<what>: file 'P' not found"
//   "<what> 'P': invalid YAML at line L, column C: ..."
//   "<what> 'P': key 'K' appears twice (lines A and B); keep one"
//   "<what> 'P': the key at line L is a list or a mapping; use a plain name"
// yaml-cpp keeps a repeated key silently and lookups see only the first, so a setting written
// twice (the second one usually the one meant) would be ignored without a word. Keys are names in
// every file streaminfer reads: a list or a mapping as a key ("? [a, b]\n: 1") is refused here,
// once, rather than by each reader.
// An empty document (nothing, or only comments) is a Null node: the caller decides what it means.
#include <yaml-cpp/yaml.h>

#include <string>

#include "streaminfer/status.h"

namespace streaminfer {

// Reads the file at `path` and parses it with parse_yaml_text (origin: `path`).
Result<YAML::Node> load_yaml_file(const std::string& path, const std::string& what);

// Parses the first document of `text`; a mapping with the same key twice, or a key that is a
// list or a mapping, at any depth, is an error. Messages quote `what` (e.g. "--config") and
// `origin` (the file name) as above.
Result<YAML::Node> parse_yaml_text(const std::string& text, const std::string& origin,
                                   const std::string& what);

}  // namespace streaminfer
