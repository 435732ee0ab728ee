#include "config/run_options.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <map>

#include "common/text.h"
#include "config/run_option_table.h"
#include "config/yaml_file.h"

namespace streaminfer {

std::vector<std::string> default_sources() {
  std::vector<std::string> sources;
  for (int seed = 1; seed <= 4; ++seed) {
    sources.push_back(
        fmt::format("synthetic:?width=1280&height=720&fps=30&objects=6&seed={}&frames=300", seed));
  }
  return sources;
}

std::vector<std::string> sources_to_run(const RunOptions& options) {
  if (options.sources.empty() && options.config.empty()) return default_sources();
  return options.sources;
}

namespace {

// Sets the spec's member from a YAML value; throws YAML::Exception on a wrong type.
void set_from_yaml(const RunOptionSpec& spec, const YAML::Node& node, bool negated,
                   RunOptions& options) {
  std::visit(
      [&](auto member) {
        auto& value = options.*member;
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          value = node.IsSequence() ? node.as<std::vector<std::string>>()
                                    : std::vector<std::string>{node.as<std::string>()};
        } else if constexpr (std::is_same_v<T, bool>) {
          value = node.as<bool>() != negated;
        } else {
          // A list or a mapping where one value belongs is a wrong type, not its first element.
          if (!node.IsScalar()) throw YAML::TypedBadConversion<T>(node.Mark());
          value = node.as<T>();
        }
      },
      spec.field);
}

}  // namespace

Status load_run_options_yaml(const std::string& path, RunOptions& options) {
  auto loaded = load_yaml_file(path, "--config");
  if (!loaded) return loaded.status();
  const YAML::Node root = loaded.value();
  options.config = path;
  if (root.IsNull()) {
    return Status::error(fmt::format(
        "--config '{}': the file is empty; give at least 'source:' (a list of sources)", path));
  }
  if (!root.IsMap()) {
    return Status::error(
        fmt::format("--config '{}': expected a mapping of flag names to values", path));
  }
  return apply_run_options_yaml(root, fmt::format("--config '{}'", path), options);
}

Status apply_run_options_yaml(const YAML::Node& mapping, const std::string& origin,
                              RunOptions& options) {
  std::map<std::string, int> seen;  // option name -> line, to refuse the same option twice
  for (const auto& entry : mapping) {
    const int line = entry.first.Mark().line + 1;
    // Quoted in messages as one short line, whatever the file holds.
    const std::string key = excerpt(entry.first.Scalar());
    bool negated = false;
    const RunOptionSpec* spec = find_run_option(key, &negated);
    if (spec == nullptr) {
      return Status::error(
          fmt::format("{}: unknown key '{}' (line {}); the keys are run's flags without dashes "
                      "(see streaminfer run --help)",
                      origin, key, line));
    }
    if (auto [at, added] = seen.emplace(spec->name, line); !added) {
      return Status::error(fmt::format("{}: '{}' is set twice (lines {} and {}); keep one", origin,
                                       key, at->second, line));
    }
    try {
      set_from_yaml(*spec, entry.second, negated, options);
    } catch (const YAML::Exception&) {
      return Status::error(fmt::format(
          "{}: key '{}' has a value of the wrong type (line {}): expected {}", origin, key,
          entry.second.Mark().line + 1,
          spec->repeatable ? "a string or a list of strings"
          : std::holds_alternative<bool RunOptions::*>(spec->field)        ? "true or false"
          : std::holds_alternative<std::string RunOptions::*>(spec->field) ? "a string"
                                                                           : "a number"));
    }
    if (spec->name == "source" && options.sources.empty()) {
      return Status::error(fmt::format(
          "{}: 'source' is an empty list (line {}); list at least one source", origin, line));
    }
  }
  return Status::ok();
}

Status validate(const RunOptions& o) {
  for (const auto& spec : run_option_table()) SI_RETURN_IF_ERROR(check_run_option(spec, o));
  if (o.micro_batch > o.batch_size) {
    return Status::error(fmt::format(
        "--micro-batch {}: more than --batch-size {}; a forward never holds more frames than a "
        "batch: give at most {}, or 0 to measure",
        o.micro_batch, o.batch_size, o.batch_size));
  }
  if (!o.retrain_save.empty() && o.mode != "retrain") {
    return Status::error(fmt::format(
        "--retrain-save {}: only --mode retrain changes the weights; add --mode retrain",
        o.retrain_save));
  }
  if (o.cuda_graphs && o.device != "cuda") {
    return Status::error(
        "--cuda-graphs: CUDA graphs replay the forward on a GPU; add --device cuda or leave it "
        "out");
  }
  const bool int8_possible = o.precision == "auto" || o.precision == "int8";
  if ((!o.calibration.empty() || !o.calibration_cache.empty()) &&
      (!int8_possible || o.device != "cpu")) {
    return Status::error(fmt::format(
        "--calibration{}: calibration is for int8 on the cpu, and this run is --precision {} on "
        "--device {}; use --precision int8 (or auto) on the cpu, or leave it out",
        o.calibration.empty() ? "-cache" : "", o.precision, o.device));
  }
  if (o.sources.empty() && !o.config.empty()) {
    return Status::error(fmt::format(
        "--config '{}' lists no source: add 'source:' to it or give --source (only a run with "
        "neither a config nor sources runs the demo job)",
        o.config));
  }
  return Status::ok();
}

std::string threads_warning(int threads, int cores) {
  if (threads <= cores || cores <= 0) return {};
  return fmt::format(
      "--threads {}: this process may run on {} core(s); threads beyond that take turns on "
      "them and every forward waits for the slowest (0 uses all cores)",
      threads, cores);
}

}  // namespace streaminfer
