#pragma once
#include <CLI/CLI.hpp>

#include "config/run_options.h"

namespace streaminfer::app {

// Binds every `run` flag to `options` (whose current values are the defaults shown in --help).
void add_run_flags(CLI::App& command, RunOptions& options, std::string& config_path);

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

// Prints "streaminfer: error: <message>" on stderr.
void print_error(const std::string& message);

}  // namespace streaminfer::app
