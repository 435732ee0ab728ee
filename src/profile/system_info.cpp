#include "profile/system_info.h"

#include <dlfcn.h>
#include <fmt/format.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>
#include <utility>

extern "C" {
#include <libavutil/avutil.h>
}

#include "profile/nvml_api.h"

namespace streaminfer {

namespace {

std::string trim(std::string s) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

// First line of a small file (sysfs), trimmed; empty when unreadable.
std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return {};
  return trim(line);
}

// Value of the first "key<sep>value" line of a file, e.g. "model name\t: AMD EPYC".
std::string find_keyed_value(const std::string& path, const std::string& key, char sep) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    const auto pos = line.find(sep);
    if (pos == std::string::npos || trim(line.substr(0, pos)) != key) continue;
    return trim(line.substr(pos + 1));
  }
  return {};
}

// "/proc/meminfo" lines read "MemTotal:       16318240 kB".
int64_t meminfo_bytes(const std::string& key) {
  const std::string value = find_keyed_value("/proc/meminfo", key, ':');
  try {
    return value.empty() ? 0 : std::stoll(value) * 1024;
  } catch (const std::exception&) {
    return 0;
  }
}

// sysfs frequencies are in kHz.
std::string khz_file_as_mhz(const std::string& path) {
  const std::string khz = read_first_line(path);
  try {
    return khz.empty() ? "unavailable" : std::to_string(std::stoll(khz) / 1000);
  } catch (const std::exception&) {
    return "unavailable";
  }
}

std::string os_pretty_name() {
  std::string name = find_keyed_value("/etc/os-release", "PRETTY_NAME", '=');
  if (name.size() >= 2 && (name.front() == '"' || name.front() == '\'')) {
    name = name.substr(1, name.size() - 2);
  }
  return name.empty() ? "unavailable" : name;
}

std::string compiler_version() {
#if defined(__clang__)
  return __VERSION__;  // already reads "Clang 15.0.7 ..."
#elif defined(__GNUC__)
  return "GCC " __VERSION__;
#else
  return "unknown";
#endif
}

std::string gib(int64_t bytes) {
  return fmt::format("{:.1f} GiB", static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0));
}

using nvml::symbol;

void collect_gpus(SystemInfo& info, const std::string& library_name) {
  void* lib = dlopen(library_name.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    info.gpu_status = "none (NVML not found)";
    return;
  }
  const auto init = symbol<nvml::InitFn>(lib, "nvmlInit_v2");
  const auto shutdown = symbol<nvml::ShutdownFn>(lib, "nvmlShutdown");
  const auto get_count = symbol<nvml::GetCountFn>(lib, "nvmlDeviceGetCount_v2");
  const auto get_handle = symbol<nvml::GetHandleFn>(lib, "nvmlDeviceGetHandleByIndex_v2");
  const auto get_name = symbol<nvml::GetNameFn>(lib, "nvmlDeviceGetName");
  const auto driver = symbol<nvml::DriverVersionFn>(lib, "nvmlSystemGetDriverVersion");
  const auto clock = symbol<nvml::ClockFn>(lib, "nvmlDeviceGetClockInfo");
  const auto pstate = symbol<nvml::PstateFn>(lib, "nvmlDeviceGetPerformanceState");
  const auto power = symbol<nvml::PowerFn>(lib, "nvmlDeviceGetPowerUsage");
  const auto memory = symbol<nvml::MemoryFn>(lib, "nvmlDeviceGetMemoryInfo");
  unsigned count = 0;
  nvml::Return rc = 0;
  if (!init || !shutdown || !get_count || !get_handle) {
    info.gpu_status = "none (NVML library lacks nvmlInit_v2: driver too old?)";
  } else if ((rc = init()) != nvml::kSuccess) {
    info.gpu_status = fmt::format("none (NVML init failed, error {})", rc);
  } else {
    if ((rc = get_count(&count)) != nvml::kSuccess) {
      info.gpu_status = fmt::format("none (NVML device count failed, error {})", rc);
    } else if (count == 0) {
      info.gpu_status = "none (NVML sees no device)";
    } else {
      info.gpu_status = "ok";
    }
    char text[128] = {};
    if (driver && driver(text, sizeof(text)) == nvml::kSuccess) info.gpu_driver = text;
    for (unsigned i = 0; i < count; ++i) {
      nvml::Device device = nullptr;
      if (get_handle(i, &device) != nvml::kSuccess) continue;
      GpuInfo gpu;
      gpu.index = static_cast<int>(i);
      char name[128] = {};
      gpu.name = get_name && get_name(device, name, sizeof(name)) == nvml::kSuccess ? name : "?";
      unsigned value = 0;
      if (clock && clock(device, nvml::kClockSm, &value) == nvml::kSuccess) {
        gpu.sm_clock_mhz = static_cast<int>(value);
      }
      if (clock && clock(device, nvml::kClockMem, &value) == nvml::kSuccess) {
        gpu.mem_clock_mhz = static_cast<int>(value);
      }
      int state = -1;
      if (pstate && pstate(device, &state) == nvml::kSuccess && state >= 0 && state <= 15) {
        gpu.pstate = state;
      }
      if (power && power(device, &value) == nvml::kSuccess) gpu.power_w = value / 1000.0;
      nvml::Memory mem{};
      if (memory && memory(device, &mem) == nvml::kSuccess) {
        gpu.memory_total_bytes = static_cast<int64_t>(mem.total);
      }
      info.gpus.push_back(std::move(gpu));
    }
    shutdown();
  }
  dlclose(lib);
}

std::string format_gpu(const GpuInfo& gpu) {
  std::string text = gpu.name;
  if (gpu.memory_total_bytes >= 0) text += ", " + gib(gpu.memory_total_bytes);
  if (gpu.sm_clock_mhz >= 0) text += fmt::format(", SM {} MHz", gpu.sm_clock_mhz);
  if (gpu.mem_clock_mhz >= 0) text += fmt::format(", memory {} MHz", gpu.mem_clock_mhz);
  if (gpu.pstate >= 0) text += fmt::format(", P{}", gpu.pstate);
  if (gpu.power_w >= 0) text += fmt::format(", {:.1f} W", gpu.power_w);
  return text;
}

}  // namespace

SystemInfo collect_system_info(const std::string& nvml_library) {
  SystemInfo info;
  const std::string model = find_keyed_value("/proc/cpuinfo", "model name", ':');
  if (!model.empty()) info.cpu_model = model;
  info.hardware_threads = std::thread::hardware_concurrency();
  info.affinity_cores = static_cast<int>(current_thread_cores().size());
  const std::string cpufreq = "/sys/devices/system/cpu/cpu0/cpufreq/";
  const std::string governor = read_first_line(cpufreq + "scaling_governor");
  if (!governor.empty()) info.cpu_governor = governor;
  info.cpu_cur_mhz = khz_file_as_mhz(cpufreq + "scaling_cur_freq");
  info.cpu_max_mhz = khz_file_as_mhz(cpufreq + "cpuinfo_max_freq");
  info.mem_total_bytes = meminfo_bytes("MemTotal");
  info.mem_available_bytes = meminfo_bytes("MemAvailable");
  info.os = os_pretty_name();
  utsname uts{};
  if (uname(&uts) == 0)
    info.kernel = fmt::format("{} {} {}", uts.sysname, uts.release, uts.machine);
  info.compiler = compiler_version();
  info.ffmpeg = av_version_info();
  collect_gpus(info, nvml_library);
  return info;
}

std::string format_system_info(const SystemInfo& info) {
  std::vector<std::pair<std::string, std::string>> rows;
  // Reserving up front also keeps GCC 12 -O3 from a false -Warray-bounds on the first emplace.
  rows.reserve(16 + info.gpus.size() + info.extra.size());
  rows.emplace_back("cpu", info.cpu_model);
  rows.emplace_back("logical cores", fmt::format("{} ({} usable by this process)",
                                                 info.hardware_threads, info.affinity_cores));
  rows.emplace_back("cpu governor", info.cpu_governor);
  rows.emplace_back("cpu MHz",
                    fmt::format("current {}, max {}", info.cpu_cur_mhz, info.cpu_max_mhz));
  rows.emplace_back("memory", info.mem_total_bytes > 0
                                  ? fmt::format("{} total, {} available", gib(info.mem_total_bytes),
                                                gib(info.mem_available_bytes))
                                  : std::string("unavailable"));
  rows.emplace_back("os", info.os);
  rows.emplace_back("kernel", info.kernel);
  rows.emplace_back("compiler", info.compiler);
  rows.emplace_back("ffmpeg", info.ffmpeg);
  if (info.gpus.empty()) {
    rows.emplace_back("gpu", info.gpu_status);
  } else {
    rows.emplace_back("gpu driver", info.gpu_driver.empty() ? "unavailable" : info.gpu_driver);
    for (const GpuInfo& gpu : info.gpus) {
      rows.emplace_back(fmt::format("gpu {}", gpu.index), format_gpu(gpu));
    }
  }
  for (const auto& [key, value] : info.extra) rows.emplace_back(key, value);

  size_t width = 0;
  for (const auto& row : rows) width = std::max(width, row.first.size());
  std::string out;
  for (const auto& [key, value] : rows) {
    fmt::format_to(std::back_inserter(out), "{:<{}} {}\n", key + ":", width + 1, value);
  }
  return out;
}

nlohmann::json to_json(const SystemInfo& info) {
  nlohmann::json gpus = nlohmann::json::array();
  for (const GpuInfo& gpu : info.gpus) {
    gpus.push_back({{"index", gpu.index},
                    {"name", gpu.name},
                    {"sm_clock_mhz", gpu.sm_clock_mhz},
                    {"mem_clock_mhz", gpu.mem_clock_mhz},
                    {"pstate", gpu.pstate},
                    {"power_w", gpu.power_w},
                    {"memory_total_bytes", gpu.memory_total_bytes}});
  }
  nlohmann::json extra = nlohmann::json::object();
  for (const auto& [key, value] : info.extra) extra[key] = value;
  return {{"cpu_model", info.cpu_model},
          {"hardware_threads", info.hardware_threads},
          {"affinity_cores", info.affinity_cores},
          {"cpu_governor", info.cpu_governor},
          {"cpu_cur_mhz", info.cpu_cur_mhz},
          {"cpu_max_mhz", info.cpu_max_mhz},
          {"mem_total_bytes", info.mem_total_bytes},
          {"mem_available_bytes", info.mem_available_bytes},
          {"os", info.os},
          {"kernel", info.kernel},
          {"compiler", info.compiler},
          {"ffmpeg", info.ffmpeg},
          {"gpu_status", info.gpu_status},
          {"gpu_driver", info.gpu_driver},
          {"gpus", std::move(gpus)},
          {"extra", std::move(extra)}};
}

}  // namespace streaminfer
