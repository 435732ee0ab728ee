#include "launch/worker_config.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>

#include "config/run_options.h"
#include "config/yaml_file.h"

namespace streaminfer {

namespace {

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  }
  return true;
}

}  // namespace

Result<std::vector<WorkerSpec>> load_workers(const std::string& path,
                                             const std::filesystem::path& out_dir) {
  auto loaded = load_yaml_file(path, "launch");
  if (!loaded) return loaded.status();
  const YAML::Node root = loaded.value();
  const YAML::Node list = root.IsMap() ? root["workers"] : root;
  if (!list || !list.IsSequence() || list.size() == 0) {
    return Status::error(fmt::format(
        "launch '{}': expected a list of workers under 'workers:' (each a name and run keys)",
        path));
  }
  std::vector<WorkerSpec> workers;
  std::set<std::string> names;
  for (const auto& item : list) {
    const int line = item.Mark().line + 1;
    if (!item.IsMap() || !item["name"] || !item["name"].IsScalar()) {
      return Status::error(
          fmt::format("launch '{}': the worker at line {} needs a 'name'", path, line));
    }
    const std::string name = item["name"].as<std::string>();
    if (!valid_name(name)) {
      return Status::error(fmt::format(
          "launch '{}': worker name '{}' (line {}): use letters, digits, '-' and '_' only", path,
          name, line));
    }
    if (!names.insert(name).second) {
      return Status::error(fmt::format("launch '{}': two workers are named '{}'", path, name));
    }
    YAML::Node run_keys(YAML::NodeType::Map);
    for (const auto& entry : item) {
      if (entry.first.as<std::string>() != "name") run_keys[entry.first] = entry.second;
    }
    WorkerSpec spec{name, out_dir / name / "config.yaml", out_dir / name};
    std::error_code error;
    std::filesystem::create_directories(spec.metrics_dir, error);
    std::ofstream(spec.config) << YAML::Dump(run_keys) << "\n";
    if (error || !std::filesystem::exists(spec.config)) {
      return Status::error(
          fmt::format("launch: cannot write '{}' (check that the directory is "
                      "writable)",
                      spec.config.string()));
    }
    RunOptions options;
    Status checked = load_run_options_yaml(spec.config.string(), options);
    if (checked) checked = validate(options);
    if (!checked) {
      return Status::error(
          fmt::format("launch '{}': worker '{}': {}", path, name, checked.message()));
    }
    workers.push_back(std::move(spec));
  }
  return workers;
}

}  // namespace streaminfer
