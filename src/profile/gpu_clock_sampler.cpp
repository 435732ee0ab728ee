#include "profile/gpu_clock_sampler.h"

#include <fmt/format.h>

namespace streaminfer {

GpuClockSampler::GpuClockSampler(const std::string& nvml_library, unsigned device) {
  library_ = dlopen(nvml_library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library_ == nullptr) return;
  const auto init = nvml::symbol<nvml::InitFn>(library_, "nvmlInit_v2");
  const auto get_count = nvml::symbol<nvml::GetCountFn>(library_, "nvmlDeviceGetCount_v2");
  const auto get_handle =
      nvml::symbol<nvml::GetHandleFn>(library_, "nvmlDeviceGetHandleByIndex_v2");
  const auto get_name = nvml::symbol<nvml::GetNameFn>(library_, "nvmlDeviceGetName");
  clock_ = nvml::symbol<nvml::ClockFn>(library_, "nvmlDeviceGetClockInfo");
  pstate_ = nvml::symbol<nvml::PstateFn>(library_, "nvmlDeviceGetPerformanceState");
  if (!init || !get_count || !get_handle || !dlsym(library_, "nvmlShutdown")) {
    status_ = "none (NVML library lacks nvmlInit_v2: driver too old?)";
    return;
  }
  nvml::Return rc = init();
  if (rc != nvml::kSuccess) {
    status_ = fmt::format("none (NVML init failed, error {})", rc);
    return;
  }
  initialised_ = true;
  unsigned count = 0;
  if ((rc = get_count(&count)) != nvml::kSuccess) {
    status_ = fmt::format("none (NVML device count failed, error {})", rc);
    return;
  }
  if (device >= count) {
    status_ = count == 0 ? "none (NVML sees no device)"
                         : fmt::format("none (no GPU {}: NVML sees {})", device, count);
    return;
  }
  nvml::Device handle = nullptr;
  if ((rc = get_handle(device, &handle)) != nvml::kSuccess) {
    status_ = fmt::format("none (NVML handle of GPU {} failed, error {})", device, rc);
    return;
  }
  char name[128] = {};
  const bool named = get_name && get_name(handle, name, sizeof(name)) == nvml::kSuccess;
  device_ = handle;
  status_ = fmt::format("GPU {} ({})", device, named ? name : "?");
}

GpuClockSampler::~GpuClockSampler() {
  if (library_ == nullptr) return;
  if (initialised_) {
    if (const auto shutdown = nvml::symbol<nvml::ShutdownFn>(library_, "nvmlShutdown")) shutdown();
  }
  dlclose(library_);
}

GpuClockSample GpuClockSampler::sample() const {
  GpuClockSample s;
  if (device_ == nullptr) return s;
  unsigned mhz = 0;
  if (clock_ != nullptr && clock_(device_, nvml::kClockSm, &mhz) == nvml::kSuccess) {
    s.sm_clock_mhz = static_cast<int>(mhz);
  }
  int state = -1;
  if (pstate_ != nullptr && pstate_(device_, &state) == nvml::kSuccess && state >= 0 &&
      state <= 15) {
    s.pstate = state;
  }
  return s;
}

}  // namespace streaminfer
