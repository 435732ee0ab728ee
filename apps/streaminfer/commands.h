#pragma once
#include <CLI/CLI.hpp>

#include <map>
#include <string>
#include <vector>

#include <optional>

#include "config/run_options.h"
#include "service/serve_config.h"

namespace streaminfer::app {

// Binds every `run` flag to `options` (whose current values are the defaults shown in --help).
void add_run_flags(CLI::App& command, RunOptions& options, std::string& config_path);
// Binds the run options `names` (all when empty) from the option table to `options`; `aliases`
// gives an option a second flag name (annotate's --input-size for --imgsz).
void add_run_option_flags(CLI::App& command, RunOptions& options,
                          const std::vector<std::string>& names = {},
                          const std::map<std::string, std::string>& aliases = {});

struct LaunchOptions {
  std::string workers_file;
  std::string out_dir = "launch-out";
  int max_restarts = 5;
};

// Each returns the process exit code: 0 done, 1 nothing could run, 2 invalid input.
int run_command(RunOptions options);
// Runs the workers of a YAML file as `run` processes, restarts crashed ones, stops them together
// on Ctrl-C / SIGTERM and prints their merged summary (1 when a worker failed for good).
int launch_command(const LaunchOptions& options);
int info_command();

struct ServeOptions {
  std::string listen = "127.0.0.1:8080";
  std::string api_token_file;
  // etcd://HOST:PORT/PREFIX: a worker of that fleet (its cameras come from PREFIX/streams/).
  std::string fleet;
  int fleet_ttl = 5;
  std::string worker_id;  // empty: HOST:PORT of the API
};
// The run's engine as a service (service/http_api.h for its routes): starts with the streams of
// `config` (when given) and --source, runs until SIGTERM / Ctrl-C, then drains like run.
int serve_command(RunOptions options, const ServeOptions& serve, std::optional<ServeConfig> config);

// CLI11's message for a command line it refused, in words a user can act on where CLI11's are
// cryptic ("--threads: At Most 1 required but received 2").
std::string describe_parse_error(const CLI::ParseError& error);

// Prints "streaminfer: error: <message>" on stderr.
void print_error(const std::string& message);

}  // namespace streaminfer::app
