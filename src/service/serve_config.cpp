#include "service/serve_config.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <set>

#include "config/run_option_table.h"
#include "config/yaml_file.h"
#include "service/stream_request.h"

namespace streaminfer {

namespace {

Result<StreamSpec> stream_from_yaml(const YAML::Node& entry, const std::string& origin) {
  StreamSpec spec;
  spec.every_nth = 0;
  spec.sample_fps = -1;
  if (entry.IsScalar()) {
    spec.uri = entry.Scalar();
  } else if (entry.IsMap()) {
    for (const auto& field : entry) {
      const std::string key = field.first.Scalar();
      try {
        if (key == "uri") {
          spec.uri = field.second.as<std::string>();
        } else if (key == "name") {
          spec.name = field.second.as<std::string>();
        } else if (key == "every_nth" || key == "every-nth") {
          spec.every_nth = field.second.as<int>();
          if (spec.every_nth < 1) {
            return Status::error(origin + ": 'every_nth' must be an integer from 1 to 100000");
          }
        } else if (key == "sample_fps" || key == "sample-fps") {
          spec.sample_fps = field.second.as<double>();
          if (spec.sample_fps < 0) {
            return Status::error(origin + ": 'sample_fps' must be a number from 0 to 1000");
          }
        } else {
          return Status::error(
              fmt::format("{}: unknown key '{}'; a stream has uri, name, sample_fps and every_nth",
                          origin, key));
        }
      } catch (const YAML::Exception&) {
        return Status::error(
            fmt::format("{}: key '{}' has a value of the wrong type", origin, key));
      }
    }
    if (spec.uri.empty()) return Status::error(origin + ": 'uri' is missing");
  } else {
    return Status::error(origin + ": expected a URI or a mapping with 'uri'");
  }
  if (Status valid = check_stream_spec(spec); !valid) {
    return Status::error(origin + ": " + valid.message());
  }
  return spec;
}

}  // namespace

std::string stream_key(const StreamSpec& spec) { return spec.name.empty() ? spec.uri : spec.name; }

Result<ServeConfig> load_serve_config(const std::string& path) {
  auto loaded = load_yaml_file(path, "--config");
  if (!loaded) return loaded.status();
  YAML::Node root = loaded.value();
  if (!root.IsMap()) {
    return Status::error(fmt::format(
        "--config '{}': expected a mapping of run's keys and 'streams:' (a list of streams)",
        path));
  }
  ServeConfig config;
  const std::string origin = fmt::format("--config '{}'", path);
  // Looked up through a const node: indexing a mutable one would add the key.
  const YAML::Node streams = static_cast<const YAML::Node&>(root)["streams"];
  if (streams) root.remove("streams");
  SI_RETURN_IF_ERROR(apply_run_options_yaml(root, origin, config.run));
  config.run.config = path;
  for (const auto& uri : config.run.sources) {
    if (Status valid = check_stream_uri(uri); !valid) {
      return Status::error(fmt::format("{}: source: {}", origin, valid.message()));
    }
    config.streams.emplace_back(uri);
  }
  if (streams && !streams.IsNull()) {
    if (!streams.IsSequence()) {
      return Status::error(
          fmt::format("{}: 'streams' (line {}) must be a list", origin, streams.Mark().line + 1));
    }
    for (const auto& entry : streams) {
      auto spec = stream_from_yaml(
          entry, fmt::format("{}: streams entry at line {}", origin, entry.Mark().line + 1));
      if (!spec) return spec.status();
      config.streams.push_back(std::move(spec.value()));
    }
  }
  std::set<std::string> keys;
  for (const auto& spec : config.streams) {
    if (!keys.insert(stream_key(spec)).second) {
      return Status::error(fmt::format(
          "{}: stream '{}' is listed twice; give each a different name", origin, stream_key(spec)));
    }
  }
  return config;
}

ReloadPlan plan_reload(const ServeConfig& before, const ServeConfig& after) {
  ReloadPlan plan;
  std::map<std::string, const StreamSpec*> old_streams;
  for (const auto& spec : before.streams) old_streams[stream_key(spec)] = &spec;
  std::set<std::string> kept;
  for (const auto& spec : after.streams) {
    const std::string key = stream_key(spec);
    const auto old = old_streams.find(key);
    if (old == old_streams.end()) {
      plan.added.push_back(spec);
      continue;
    }
    kept.insert(key);
    const StreamSpec& was = *old->second;
    if (was.uri != spec.uri || was.every_nth != spec.every_nth ||
        was.sample_fps != spec.sample_fps) {
      plan.changed.push_back(spec);
    }
  }
  for (const auto& spec : before.streams) {
    if (!kept.count(stream_key(spec))) plan.removed.push_back(stream_key(spec));
  }
  for (const auto& option : run_option_table()) {
    if (option.name == "source") continue;  // the streams, above
    if (run_option_value(option, before.run) != run_option_value(option, after.run)) {
      (option.picks_model ? plan.model_changed : plan.needs_restart).push_back(option.name);
    }
  }
  return plan;
}

}  // namespace streaminfer
