#include "profile/cpu_affinity.h"

#include <fmt/format.h>
#include <sched.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace streaminfer {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool parse_core(std::string_view text, int& core) {
  text = trim(text);
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), core);
  return ec == std::errc() && end == text.data() + text.size() && core >= 0;
}

int configured_cores() {
  const long n = sysconf(_SC_NPROCESSORS_CONF);
  return static_cast<int>(std::clamp<long>(n > 0 ? n : 1, 1, CPU_SETSIZE));
}

std::string cores_word(size_t n) { return n == 1 ? "core" : "cores"; }

// The cpu_set_t for `cores`, or an error naming the cores this machine lacks.
Result<cpu_set_t> make_cpu_set(const std::vector<int>& cores) {
  if (cores.empty()) return Status::error("no cores to bind to: the core list is empty");
  const int available = configured_cores();
  std::vector<int> missing;
  for (int core : cores) {
    if (core < 0 || core >= available) missing.push_back(core);
  }
  if (!missing.empty()) {
    return Status::error(fmt::format("{} {} {} not exist on this machine (it has cores 0-{})",
                                     cores_word(missing.size()), format_core_list(missing),
                                     missing.size() == 1 ? "does" : "do", available - 1));
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int core : cores) CPU_SET(core, &set);
  return set;
}

std::string refused_message(const std::vector<int>& cores, int err) {
  return fmt::format(
      "cannot bind to {} {}: {}{}", cores_word(cores.size()), format_core_list(cores),
      std::strerror(err),
      err == EINVAL ? " (none of them is allowed to this process: container cpuset?)" : "");
}

}  // namespace

Result<std::vector<int>> parse_core_list(const std::string& text) {
  constexpr const char* kExample = "expected e.g. 0-3 or 0,2,4-5";
  if (trim(text).empty()) return Status::error(fmt::format("empty core list ({})", kExample));
  std::vector<int> cores;
  std::string_view rest = text;
  while (true) {
    const size_t comma = rest.find(',');
    const std::string_view item = trim(rest.substr(0, comma));
    const size_t dash = item.find('-');
    int first = 0, last = 0;
    const bool ok =
        dash == std::string_view::npos
            ? parse_core(item, first) && parse_core(item, last)
            : parse_core(item.substr(0, dash), first) && parse_core(item.substr(dash + 1), last);
    if (!ok) {
      return Status::error(fmt::format("'{}' in core list '{}' is not a core number or range ({})",
                                       item, text, kExample));
    }
    if (first > last) {
      return Status::error(
          fmt::format("core range '{}' in '{}' is reversed: write {}-{}", item, text, last, first));
    }
    if (last >= CPU_SETSIZE) {
      return Status::error(fmt::format("core {} in '{}' is beyond the {} cores Linux can address",
                                       last, text, CPU_SETSIZE));
    }
    for (int core = first; core <= last; ++core) cores.push_back(core);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  std::sort(cores.begin(), cores.end());
  cores.erase(std::unique(cores.begin(), cores.end()), cores.end());
  return cores;
}

std::string format_core_list(const std::vector<int>& cores) {
  std::vector<int> sorted = cores;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::string out;
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i;
    while (j + 1 < sorted.size() && sorted[j + 1] == sorted[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += j == i ? std::to_string(sorted[i]) : fmt::format("{}-{}", sorted[i], sorted[j]);
    i = j + 1;
  }
  return out;
}

std::vector<int> current_thread_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cores;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return cores;
  for (int core = 0; core < CPU_SETSIZE; ++core) {
    if (CPU_ISSET(core, &set)) cores.push_back(core);
  }
  return cores;
}

Result<std::vector<int>> bind_current_thread_to_cores(const std::vector<int>& cores) {
  auto set = make_cpu_set(cores);
  if (!set) return set.status();
  // pid 0 means the calling thread, not the whole process, for sched_setaffinity.
  if (sched_setaffinity(0, sizeof(cpu_set_t), &set.value()) != 0) {
    return Status::error(refused_message(cores, errno));
  }
  return current_thread_cores();
}

Status bind_process_to_cores(const std::vector<int>& cores) {
  auto set = make_cpu_set(cores);
  if (!set) return set.status();
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::directory_iterator tasks("/proc/self/task", ec);
  if (ec) {
    // No procfs: bind the calling thread at least; later threads inherit from it.
    if (sched_setaffinity(0, sizeof(cpu_set_t), &set.value()) != 0) {
      return Status::error(refused_message(cores, errno));
    }
    return Status::ok();
  }
  for (const auto& task : tasks) {
    pid_t tid = 0;
    const std::string name = task.path().filename().string();
    const auto [end, parse_ec] = std::from_chars(name.data(), name.data() + name.size(), tid);
    if (parse_ec != std::errc() || end != name.data() + name.size()) continue;
    // ESRCH: the thread ended since the listing; nothing to bind.
    if (sched_setaffinity(tid, sizeof(cpu_set_t), &set.value()) != 0 && errno != ESRCH) {
      return Status::error(refused_message(cores, errno));
    }
  }
  return Status::ok();
}

}  // namespace streaminfer
