#pragma once
// This process's own resources, from /proc/self: what a long-running service is watched by
// (memory that grows, descriptors or threads that leak).
#include <cstdint>

namespace streaminfer {

struct ProcessStats {
  int64_t resident_bytes = 0;
  int64_t virtual_bytes = 0;
  int open_fds = 0;
  int threads = 0;
  double cpu_seconds = 0;  // user + system
  double start_time_unix_s = 0;
};

// Zeros where /proc cannot be read.
ProcessStats read_process_stats();

}  // namespace streaminfer
