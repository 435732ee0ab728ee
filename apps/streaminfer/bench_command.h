#pragma once
// `streaminfer bench <experiment>`: reproducible experiments, each with a table at the end, CSV
// files and an HTML plot on disk, and the system block. Experiments: postprocess, batching,
// frames, idle-gap, placement, decode, model.
#include <CLI/CLI.hpp>

#include <functional>

namespace streaminfer::app {

// Adds `bench` and its experiments to `app`. Returns the function to call after parsing: it runs
// the experiment that was parsed and returns the exit code (0 done, 1 failed, 2 invalid input).
std::function<int()> add_bench_command(CLI::App& app);

}  // namespace streaminfer::app
