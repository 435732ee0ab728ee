#pragma once
#include <CLI/CLI.hpp>

#include "config/run_options.h"

namespace streaminfer::app {

// Binds every `run` flag to `options` (whose current values are the defaults shown in --help).
void add_run_flags(CLI::App& command, RunOptions& options, std::string& config_path);

// Each returns the process exit code: 0 done, 1 nothing could run, 2 invalid input.
int run_command(RunOptions options);
int info_command();

// Prints "streaminfer: error: <message>" on stderr.
void print_error(const std::string& message);

}  // namespace streaminfer::app
