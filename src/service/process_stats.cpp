#include "service/process_stats.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace streaminfer {

namespace {

// Boot time (s since the epoch), for the process's start time: /proc/self/stat gives it in
// clock ticks since boot.
double boot_time_unix_s() {
  std::ifstream stat("/proc/stat");
  for (std::string line; std::getline(stat, line);) {
    if (line.rfind("btime ", 0) == 0) return std::stod(line.substr(6));
  }
  return 0;
}

}  // namespace

ProcessStats read_process_stats() {
  ProcessStats p;
  const long page = sysconf(_SC_PAGESIZE);
  const long ticks = sysconf(_SC_CLK_TCK);
  {
    std::ifstream statm("/proc/self/statm");
    int64_t size = 0, resident = 0;
    if (statm >> size >> resident) {
      p.virtual_bytes = size * page;
      p.resident_bytes = resident * page;
    }
  }
  {
    std::ifstream stat("/proc/self/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    // The command name (field 2) may hold spaces and parentheses: fields are counted after the
    // last ')'.
    const size_t close = text.rfind(')');
    if (close != std::string::npos && ticks > 0) {
      std::istringstream rest(text.substr(close + 2));
      std::vector<std::string> fields;
      for (std::string field; rest >> field;) fields.push_back(field);
      // Fields from 3 on: utime is field 14, stime 15, num_threads 20, starttime 22.
      const auto field = [&](size_t n) { return n - 3 < fields.size() ? fields[n - 3] : "0"; };
      p.cpu_seconds = (std::stod(field(14)) + std::stod(field(15))) / static_cast<double>(ticks);
      p.threads = std::stoi(field(20));
      p.start_time_unix_s = boot_time_unix_s() + std::stod(field(22)) / static_cast<double>(ticks);
    }
  }
  std::error_code error;
  for (std::filesystem::directory_iterator it("/proc/self/fd", error), end; !error && it != end;
       it.increment(error)) {
    ++p.open_fds;
  }
  return p;
}

}  // namespace streaminfer
