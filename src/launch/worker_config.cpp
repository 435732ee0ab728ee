#include "launch/worker_config.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>

#include "common/atomic_file.h"
#include "common/path_guard.h"
#include "common/text.h"
#include "config/run_options.h"
#include "config/run_paths.h"
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
  std::vector<YAML::Node> run_keys;
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
          excerpt(name), line));
    }
    if (!names.insert(name).second) {
      return Status::error(fmt::format("launch '{}': two workers are named '{}'", path, name));
    }
    YAML::Node keys(YAML::NodeType::Map);
    for (const auto& entry : item) {
      if (entry.first.as<std::string>() != "name") keys[entry.first] = entry.second;
    }
    WorkerSpec spec{name, out_dir / name / "config.yaml", out_dir / name, {}};
    const std::string origin = fmt::format("launch '{}': worker '{}'", path, name);
    Status checked = apply_run_options_yaml(keys, origin, spec.run);
    if (checked && !item["source"]) {
      checked = Status::error(
          fmt::format("{} (line {}) has no 'source'; list its sources", origin, line));
    }
    spec.run.config = spec.config.string();
    if (checked) checked = validate(spec.run);
    if (!checked) {
      return Status::error(checked.message().rfind(origin, 0) == 0
                               ? checked.message()
                               : fmt::format("{}: {}", origin, checked.message()));
    }
    workers.push_back(std::move(spec));
    run_keys.push_back(keys);
  }
  SI_RETURN_IF_ERROR(check_launch_paths(path, out_dir, workers));
  for (size_t i = 0; i < workers.size(); ++i) {
    SI_RETURN_IF_ERROR(write_file_atomically(workers[i].config.string(),
                                             YAML::Dump(run_keys[i]) + "\n", "worker config"));
  }
  return workers;
}

Status check_launch_paths(const std::string& workers_file, const std::filesystem::path& out_dir,
                          const std::vector<WorkerSpec>& workers) {
  PathPlan plan;
  plan.input("launch's workers file", workers_file);
  plan.output("launch's summary", (out_dir / "launch_summary.json").string());
  for (const WorkerSpec& worker : workers) {
    const std::string prefix = fmt::format("worker '{}': ", worker.name);
    RunOptions run = worker.run;
    // The launcher gives every worker its own metrics folder (run --metrics-dir OUT_DIR/NAME).
    run.metrics_dir.clear();
    run.config.clear();
    add_run_paths(plan, run, prefix);
    plan.output_folder(prefix + "its folder", worker.metrics_dir.string());
    plan.output(prefix + "its config", worker.config.string());
    plan.output(prefix + "its run.out", (worker.metrics_dir / "run.out").string());
    plan.output(prefix + "its run.err", (worker.metrics_dir / "run.err").string());
  }
  Status checked = plan.check();
  if (!checked)
    return Status::error(fmt::format("launch '{}': {}", workers_file, checked.message()));
  return Status::ok();
}

}  // namespace streaminfer
