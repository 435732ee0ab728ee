#pragma once
// `streaminfer train`: trains a YOLOv8-family detector on synthetic scenes
// (train/detector_trainer.h).
#include <CLI/CLI.hpp>

#include <functional>

namespace streaminfer::app {

// Adds `train` to `app`. Returns the function to call after parsing: it trains when `train` was
// parsed and returns the exit code (0 done, 1 failed, 2 invalid input), or -1 when it was not.
std::function<int()> add_train_command(CLI::App& app);

}  // namespace streaminfer::app
