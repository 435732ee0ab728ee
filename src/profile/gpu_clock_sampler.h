#pragma once
// SM clock and performance state of one GPU, read through NVML once per inference in
// `bench idle-gap`. Unlike collect_system_info(), which initialises NVML, reads and shuts it down,
// this keeps NVML initialised for its lifetime: a sample is then two driver calls, not a
// dlopen() and an nvmlInit(). Without NVML (no driver, no GPU) it says why and samples -1.
#include <string>

#include "profile/nvml_api.h"
#include "profile/system_info.h"

namespace streaminfer {

struct GpuClockSample {
  int sm_clock_mhz = -1;  // -1: unknown
  int pstate = -1;        // 0 (P0, fastest) .. 15; -1: unknown
};

class GpuClockSampler {
 public:
  explicit GpuClockSampler(const std::string& nvml_library = kNvmlLibrary, unsigned device = 0);
  ~GpuClockSampler();
  GpuClockSampler(const GpuClockSampler&) = delete;
  GpuClockSampler& operator=(const GpuClockSampler&) = delete;

  bool available() const { return device_ != nullptr; }
  // "GPU 0 (NAME)" when available, else why not, in SystemInfo::gpu_status's words:
  // "none (NVML not found)", "none (NVML sees no device)", ...
  const std::string& status() const { return status_; }
  GpuClockSample sample() const;

 private:
  void* library_ = nullptr;  // dlopen() handle
  bool initialised_ = false;
  nvml::Device device_ = nullptr;
  nvml::ClockFn clock_ = nullptr;
  nvml::PstateFn pstate_ = nullptr;
  std::string status_ = "none (NVML not found)";
};

}  // namespace streaminfer
