#pragma once
// The dataset tools: `streaminfer extract-frames` (a video or stream -> image files with their
// timestamps) and `streaminfer annotate` (a folder of images -> the same images with boxes drawn
// and one JSON file of detections).
#include <CLI/CLI.hpp>

#include <functional>

namespace streaminfer::app {

// Each adds its subcommand to `app` and returns the function to call after parsing: -1 when the
// subcommand was not given, else its exit code (0 done, 1 failed, 2 invalid input).
std::function<int()> add_extract_frames_command(CLI::App& app);
std::function<int()> add_annotate_command(CLI::App& app);

}  // namespace streaminfer::app
