#pragma once
// What the machine is, for the start-up block, `streaminfer info` and the summary JSON: results
// are only comparable with the CPU, governor, GPU clocks and library versions they came from.
// Core binding for --core-bind lives in cpu_affinity.h, included here for convenience.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "profile/cpu_affinity.h"

namespace streaminfer {

inline constexpr const char* kNvmlLibrary = "libnvidia-ml.so.1";

struct GpuInfo {
  int index = 0;
  std::string name;
  int sm_clock_mhz = -1;  // -1: NVML could not tell
  int mem_clock_mhz = -1;
  int pstate = -1;  // 0 (P0, fastest) .. 15
  double power_w = -1;
  int64_t memory_total_bytes = -1;
};

struct SystemInfo {
  std::string cpu_model = "unavailable";
  unsigned hardware_threads = 0;  // std::thread::hardware_concurrency()
  int affinity_cores = 0;         // cores this process may run on (sched_getaffinity)
  std::string cpu_governor = "unavailable";
  std::string cpu_cur_mhz = "unavailable";
  std::string cpu_max_mhz = "unavailable";
  int64_t mem_total_bytes = 0;  // 0: unknown
  int64_t mem_available_bytes = 0;
  std::string os = "unavailable";
  std::string kernel = "unavailable";
  std::string compiler = "unavailable";
  std::string ffmpeg = "unavailable";
  // "ok" with gpus filled, or why there are none: "none (NVML not found)", ...
  std::string gpu_status = "none (NVML not found)";
  std::string gpu_driver;
  std::vector<GpuInfo> gpus;
  // What this library cannot know (it does not link LibTorch): "libtorch", "torch threads", ...
  // Filled by the caller; shown after the rest, in key order.
  std::map<std::string, std::string> extra;
};

// Never fails: what cannot be read says "unavailable". nvml_library is dlopen()ed at run time so
// that the binary runs on machines without an NVIDIA driver.
SystemInfo collect_system_info(const std::string& nvml_library = kNvmlLibrary);
// Aligned "key: value" lines, one per item, ending with a newline.
std::string format_system_info(const SystemInfo& info);
nlohmann::json to_json(const SystemInfo& info);

}  // namespace streaminfer
