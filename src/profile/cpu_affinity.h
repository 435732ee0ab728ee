#pragma once
// Binding threads to CPU cores (--core-bind, one core set per worker in `launch`), so that
// workers sharing a machine do not steal each other's cores and benchmarks repeat.
#include <string>
#include <vector>

#include "streaminfer/status.h"

namespace streaminfer {

// "0-3", "0,2,4-5" -> sorted cores without duplicates. Errors (one line) for "", "3-1", "a".
Result<std::vector<int>> parse_core_list(const std::string& text);
// {0,1,2,3,6} -> "0-3,6", the form parse_core_list reads.
std::string format_core_list(const std::vector<int>& cores);

// Binds the calling thread; returns the cores it may run on afterwards (sched_getaffinity),
// which the caller should report: the kernel may grant fewer than asked. Error when a core does
// not exist on this machine or the kernel refuses the set (e.g. outside a container's cpuset).
Result<std::vector<int>> bind_current_thread_to_cores(const std::vector<int>& cores);
// Binds every thread the process has now (LibTorch and FFmpeg pools included); threads started
// later inherit their creator's set.
Status bind_process_to_cores(const std::vector<int>& cores);
// The cores the calling thread may run on.
std::vector<int> current_thread_cores();

}  // namespace streaminfer
