#include "profile/cpu_frequency.h"

#include <fmt/format.h>
#include <sched.h>

#include <filesystem>
#include <fstream>
#include <string_view>

namespace streaminfer {
namespace {

std::string sysfs_cur_freq_path(const std::string& dir, int cpu) {
  return fmt::format("{}/cpu{}/cpufreq/scaling_cur_freq", dir, cpu);
}

// sysfs frequencies are in kHz; -1 when the file is missing or not a number.
double read_khz_as_mhz(const std::string& path) {
  std::ifstream in(path);
  long long khz = 0;
  if (!(in >> khz) || khz <= 0) return -1.0;
  return static_cast<double>(khz) / 1000.0;
}

// The text after ':' of a "key\t: value" line, when the part before is `key`; else empty.
std::string_view value_of(std::string_view line, std::string_view key) {
  if (line.substr(0, key.size()) != key) return {};
  const size_t colon = line.find(':', key.size());
  if (colon == std::string_view::npos) return {};
  for (size_t i = key.size(); i < colon; ++i) {
    if (line[i] != ' ' && line[i] != '\t') return {};  // "cpu MHz dynamic" is another key
  }
  return line.substr(colon + 1);
}

// "cpu MHz" of each "processor" block of /proc/cpuinfo, indexed by processor number.
std::vector<double> cpuinfo_mhz(const std::string& path) {
  std::vector<double> mhz;
  std::ifstream in(path);
  int processor = -1;
  for (std::string line; std::getline(in, line);) {
    if (auto v = value_of(line, "processor"); !v.empty()) {
      try {
        processor = std::stoi(std::string(v));
      } catch (const std::exception&) {
        processor = -1;
      }
    } else if (auto m = value_of(line, "cpu MHz"); !m.empty() && processor >= 0) {
      double value = -1.0;
      try {
        value = std::stod(std::string(m));
      } catch (const std::exception&) {
        continue;
      }
      if (mhz.size() <= static_cast<size_t>(processor)) mhz.resize(processor + 1, -1.0);
      mhz[processor] = value;
    }
  }
  return mhz;
}

}  // namespace

CpuFrequencyReader::CpuFrequencyReader(std::string sysfs_cpu_dir, std::string cpuinfo_path)
    : sysfs_cpu_dir_(std::move(sysfs_cpu_dir)), cpuinfo_path_(std::move(cpuinfo_path)) {
  // cpu0 may be offline or lack cpufreq while others have it: look at every cpuN directory.
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(sysfs_cpu_dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > 3 && name.rfind("cpu", 0) == 0 &&
        name.find_first_not_of("0123456789", 3) == std::string::npos &&
        read_khz_as_mhz(entry.path().string() + "/cpufreq/scaling_cur_freq") > 0) {
      source_ = Source::kSysfs;
      return;
    }
  }
  for (double mhz : cpuinfo_mhz(cpuinfo_path_)) {
    if (mhz > 0) {
      source_ = Source::kProcCpuinfo;
      return;
    }
  }
}

std::string CpuFrequencyReader::describe() const {
  switch (source_) {
    case Source::kSysfs:
      return "sysfs cpufreq scaling_cur_freq";
    case Source::kProcCpuinfo:
      return "/proc/cpuinfo \"cpu MHz\" (no cpufreq in sysfs; in a VM this is often the "
             "constant nominal clock)";
    case Source::kNone:
      break;
  }
  return "unavailable (no cpufreq in sysfs, no \"cpu MHz\" in /proc/cpuinfo)";
}

double CpuFrequencyReader::mhz(int cpu) const {
  if (cpu < 0) return -1.0;
  switch (source_) {
    case Source::kSysfs:
      return read_khz_as_mhz(sysfs_cur_freq_path(sysfs_cpu_dir_, cpu));
    case Source::kProcCpuinfo: {
      const auto all = cpuinfo_mhz(cpuinfo_path_);
      return static_cast<size_t>(cpu) < all.size() ? all[cpu] : -1.0;
    }
    case Source::kNone:
      break;
  }
  return -1.0;
}

double CpuFrequencyReader::current_core_mhz() const { return mhz(sched_getcpu()); }

std::vector<double> CpuFrequencyReader::all_mhz() const {
  switch (source_) {
    case Source::kSysfs: {
      std::vector<double> all;
      for (int cpu = 0;; ++cpu) {
        std::error_code ec;
        if (!std::filesystem::exists(fmt::format("{}/cpu{}", sysfs_cpu_dir_, cpu), ec)) break;
        all.push_back(mhz(cpu));
      }
      return all;
    }
    case Source::kProcCpuinfo:
      return cpuinfo_mhz(cpuinfo_path_);
    case Source::kNone:
      break;
  }
  return {};
}

}  // namespace streaminfer
