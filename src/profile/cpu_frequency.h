#pragma once
// The current clock of a CPU core, cheap enough to read once per inference in `bench idle-gap`
// (one small file), so that a latency step can be set against the clock it happened at.
// Sources, in order: sysfs cpufreq (scaling_cur_freq, kHz; what the governor last saw), else
// /proc/cpuinfo "cpu MHz" (on x86 the kernel's APERF/MPERF estimate; in many VMs a constant
// nominal value, which is why the source is always reported with the numbers).
#include <string>
#include <vector>

namespace streaminfer {

class CpuFrequencyReader {
 public:
  enum class Source { kSysfs, kProcCpuinfo, kNone };

  // Looks once for which source this machine has. The paths are parameters for the tests.
  explicit CpuFrequencyReader(std::string sysfs_cpu_dir = "/sys/devices/system/cpu",
                              std::string cpuinfo_path = "/proc/cpuinfo");

  Source source() const { return source_; }
  bool available() const { return source_ != Source::kNone; }
  // One line for the report: "sysfs scaling_cur_freq", "/proc/cpuinfo cpu MHz (...)" or
  // "unavailable (...)".
  std::string describe() const;

  // MHz of core `cpu` now; -1 when it cannot be read.
  double mhz(int cpu) const;
  // MHz of the core the calling thread is on (sched_getcpu); -1 when it cannot be read.
  double current_core_mhz() const;
  // Every core's MHz, indexed by core number, -1 where unknown; empty when unavailable.
  std::vector<double> all_mhz() const;

 private:
  std::string sysfs_cpu_dir_;
  std::string cpuinfo_path_;
  Source source_ = Source::kNone;
};

}  // namespace streaminfer
