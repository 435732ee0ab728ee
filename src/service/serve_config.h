#pragma once
// The YAML file of `streaminfer serve --config`: run's keys (config/run_option_table.h) plus
// `streams:`, a list whose entries are a URI or a mapping {uri, name, sample_fps, every_nth}
// (service/stream_request.h checks them). `source:` entries are streams too. A reload (SIGHUP,
// POST /reload) reads the file again and applies the difference to the streams the file
// declares; streams added through the API are the API's and a reload leaves them alone.
#include <string>
#include <vector>

#include "config/run_options.h"
#include "pipeline/pipeline.h"
#include "streaminfer/status.h"

namespace streaminfer {

struct ServeConfig {
  RunOptions run;                   // run's keys of the file, over the defaults
  std::vector<StreamSpec> streams;  // `source:` then `streams:`, each checked
};

// Errors name the file, the entry and its line; the same stream (by name, else by URI) listed
// twice is an error.
Result<ServeConfig> load_serve_config(const std::string& path);

// A stream's identity across reloads: its name, else its URI.
std::string stream_key(const StreamSpec& spec);

struct ReloadPlan {
  std::vector<StreamSpec> added;     // in the new file only
  std::vector<StreamSpec> changed;   // the same key with another URI or sampling: the new spec
  std::vector<std::string> removed;  // keys in the old file only
  // Settings that pick the model (RunOptionSpec::picks_model) whose value changed: the new
  // model is built and the running pipeline goes on with it.
  std::vector<std::string> model_changed;
  // Other run settings whose value changed (flag names): the running pipeline keeps its own
  // until a restart.
  std::vector<std::string> needs_restart;
  bool empty() const {
    return added.empty() && changed.empty() && removed.empty() && model_changed.empty() &&
           needs_restart.empty();
  }
};
ReloadPlan plan_reload(const ServeConfig& before, const ServeConfig& after);

}  // namespace streaminfer
