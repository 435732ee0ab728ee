#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/version.h>

#include <thread>

#include "commands.h"
#include "infer/backend.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
}

namespace streaminfer::app {

int info_command() {
  fmt::print("streaminfer {}\n", STREAMINFER_VERSION);
  fmt::print("FFmpeg: {} (libavcodec {})\n", av_version_info(), LIBAVCODEC_IDENT);
  fmt::print("LibTorch: {}\n", TORCH_VERSION);
  fmt::print("devices: {}\n", fmt::join(available_devices(), ", "));
  fmt::print("hardware threads: {}\n", std::thread::hardware_concurrency());
  fmt::print("{}", at::get_parallel_info());
  return 0;
}

}  // namespace streaminfer::app
