#include "infer/precision_probe.h"

#include "common/signal_name.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <torch/version.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "infer/precision_probe_child.h"

extern char** environ;

namespace streaminfer {

namespace {

// How the child is told what to do. An environment variable rather than a command-line
// subcommand: the probe is part of the engine library, so the executable that re-executes
// itself may be streaminfer, a unit-test binary or a micro-benchmark, each with its own argument
// parser. The check below runs in a static initializer, i.e. before main() and before anything
// starts LibTorch's thread pools, and the child exits from there.
//
// Why re-execute rather than fork(): after fork() only the calling thread exists in the child,
// while LibTorch's OpenMP pool (and the pipeline's threads) may hold locks; a forked child can
// deadlock in its first parallel region. posix_spawn of /proc/self/exe starts a fresh process
// image of the same build (same LibTorch, same oneDNN, same environment), which is exactly what
// must be tested, and is safe to call from a multi-threaded process (glibc uses vfork + exec).
constexpr const char* kChildEnv = "STREAMINFER_INTERNAL_PRECISION_PROBE";

[[maybe_unused]] const bool kChildHandled = [] {
  const char* precision = std::getenv(kChildEnv);
  if (precision == nullptr) return false;
  const int code = run_precision_probe_child(precision);
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(code);
}();

std::string trim(std::string s) {
  const auto begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return {};
  const auto end = s.find_last_not_of(" \t\r\n");
  return s.substr(begin, end - begin + 1);
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return trim(line.substr(colon + 1));
    }
  }
  return "unknown cpu";
}

// oneDNN reads ONEDNN_MAX_CPU_ISA, and the older DNNL_MAX_CPU_ISA when that is unset.
std::string max_cpu_isa() {
  for (const char* name : {"ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"}) {
    if (const char* value = std::getenv(name); value != nullptr && *value != '\0') return value;
  }
  return {};
}

struct ChildOutcome {
  std::string spawn_error;  // non-empty: the child never ran
  bool timed_out = false;
  int exit_code = -1;
  int term_signal = 0;
  std::string log;  // stdout and stderr, interleaved
};

ChildOutcome run_child(const std::string& precision, int timeout_s) {
  ChildOutcome outcome;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    outcome.spawn_error = fmt::format("pipe failed: {}", std::strerror(errno));
    return outcome;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);  // dup2 clears O_CLOEXEC on 1 and 2
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);

  // The parent's environment (ONEDNN_MAX_CPU_ISA included) plus oneDNN's verbose log, one thread.
  const std::vector<std::string> ours = {std::string(kChildEnv) + "=" + precision,
                                         "ONEDNN_VERBOSE=1", "DNNL_VERBOSE=1", "OMP_NUM_THREADS=1"};
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string entry = *e;
    bool replaced = false;
    for (const auto& own : ours) {
      const auto name = own.substr(0, own.find('=') + 1);
      if (entry.rfind(name, 0) == 0) replaced = true;
    }
    if (!replaced) env.push_back(entry);
  }
  env.insert(env.end(), ours.begin(), ours.end());
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string exe = "/proc/self/exe", arg1 = "__probe-precision", arg2 = precision;
  std::vector<char*> argv = {exe.data(), arg1.data(), arg2.data(), nullptr};

  // A process group of its own: Ctrl-C in the terminal goes to the foreground group, and the
  // child killed by it would look like a CPU that cannot run the kernels. The parent sees the
  // signal and stops after the probe (which takes seconds and ends by itself).
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attributes, 0);
  pid_t pid = -1;
  const int spawned =
      posix_spawn(&pid, exe.c_str(), &actions, &attributes, argv.data(), envp.data());
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (spawned != 0) {
    close(fds[0]);
    outcome.spawn_error = fmt::format("cannot start {}: {}", exe, std::strerror(spawned));
    return outcome;
  }

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  char buffer[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) {
      outcome.timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    pollfd pfd{fds[0], POLLIN, 0};
    const int ready = poll(&pfd, 1, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;  // timeout is checked at the top
    const ssize_t n = read(fds[0], buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the child exited (or closed its output)
    if (outcome.log.size() < (1u << 20)) outcome.log.append(buffer, static_cast<size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) outcome.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) outcome.term_signal = WTERMSIG(status);
  return outcome;
}

// The child's own error line ("streaminfer-probe: error: ..."), else the log's last line.
std::string child_error(const std::string& log) {
  constexpr const char* kMarker = "streaminfer-probe: error: ";
  if (const auto at = log.rfind(kMarker); at != std::string::npos) {
    return trim(
        log.substr(at + std::strlen(kMarker), log.find('\n', at) - at - std::strlen(kMarker)));
  }
  std::istringstream lines(log);
  std::string line, last;
  while (std::getline(lines, line)) {
    if (!trim(line).empty()) last = trim(line);
  }
  return last.empty() ? "no output" : last;
}

PrecisionProbe verdict(const std::string& precision, const ChildOutcome& child) {
  PrecisionProbe probe;
  probe.precision = precision;
  parse_onednn_verbose(child.log, probe.isa, probe.conv_impl);
  const bool isa_capped = !max_cpu_isa().empty();
  if (!child.spawn_error.empty()) {
    probe.reason = "the probe could not run (" + child.spawn_error + ")";
    probe.advice = "use --precision fp32";
  } else if (child.timed_out) {
    probe.reason = "the probe child did not finish in time";
    probe.advice = "retry on a less loaded machine or use --precision fp32";
  } else if (child.term_signal != 0) {
    probe.reason = fmt::format(
        "the probe child died with {}: oneDNN's {} kernels are not usable "
        "with this CPU and LibTorch {}",
        signal_name(child.term_signal), precision, TORCH_VERSION);
    probe.advice = isa_capped || precision != "bf16"
                       ? "use --precision fp32"
                       : "set ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16 to try oneDNN's AVX-512 bf16 "
                         "path instead, or use --precision fp32";
  } else if (child.exit_code != 0) {
    const std::string error = child_error(child.log);
    if (precision == "fp16" && error.find("Half") != std::string::npos) {
      probe.reason = fmt::format("LibTorch {}'s CPU kernels have no fp16 convolution ({})",
                                 TORCH_VERSION, error);
      probe.advice = "use --precision bf16 or fp32 on the cpu (fp16 is for --device cuda)";
    } else {
      probe.reason = "the probe forward failed: " + error;
      probe.advice = "use --precision fp32";
    }
  } else {
    probe.available = true;
  }
  return probe;
}

std::mutex& memo_mutex() {
  static std::mutex m;
  return m;
}
std::map<std::string, PrecisionProbe>& memo() {
  static std::map<std::string, PrecisionProbe> m;
  return m;
}

nlohmann::json to_json(const PrecisionProbe& p) {
  return {{"precision", p.precision}, {"available", p.available}, {"isa", p.isa},
          {"conv_impl", p.conv_impl}, {"reason", p.reason},       {"advice", p.advice}};
}

bool read_cached(const std::filesystem::path& file, const std::string& key, PrecisionProbe& out) {
  std::ifstream in(file);
  if (!in) return false;
  const auto json = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("entries") || !json["entries"].contains(key)) {
    return false;
  }
  const auto& entry = json["entries"][key];
  if (!entry.is_object()) return false;
  out.precision = entry.value("precision", "");
  out.available = entry.value("available", false);
  out.isa = entry.value("isa", "");
  out.conv_impl = entry.value("conv_impl", "");
  out.reason = entry.value("reason", "");
  out.advice = entry.value("advice", "");
  out.from_cache = true;
  return true;
}

// Best effort: an unwritable cache directory only means the next process probes again.
void write_cached(const std::filesystem::path& dir, const std::string& key,
                  const PrecisionProbe& probe) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return;
  const fs::path file = dir / "precision_probe.json";
  nlohmann::json json;
  if (std::ifstream in(file); in) json = nlohmann::json::parse(in, nullptr, false);
  if (!json.is_object()) json = nlohmann::json::object();
  json["version"] = 1;
  if (!json["entries"].is_object()) json["entries"] = nlohmann::json::object();
  json["entries"][key] = to_json(probe);
  // Written aside and renamed: two processes probing at once never leave a torn file.
  const fs::path tmp = dir / fmt::format(".precision_probe.{}.tmp", getpid());
  {
    std::ofstream out(tmp);
    if (!out) return;
    out << json.dump(2) << "\n";
    if (!out) return;
  }
  fs::rename(tmp, file, ec);
  if (ec) fs::remove(tmp, ec);
}

}  // namespace

std::string PrecisionProbe::isa_summary() const {
  return fmt::format("oneDNN ISA: {}; convolutions: {}", isa.empty() ? "unknown" : isa,
                     conv_impl.empty() ? "unknown" : conv_impl);
}

void parse_onednn_verbose(const std::string& log, std::string& isa, std::string& conv_impl) {
  isa.clear();
  conv_impl.clear();
  std::istringstream lines(log);
  std::string line;
  std::vector<std::string> impls;
  while (std::getline(lines, line)) {
    if (line.rfind("streaminfer-probe: reference done", 0) == 0) impls.clear();
    if (line.find(",info,") != std::string::npos) {
      if (const auto at = line.find("isa:"); at != std::string::npos)
        isa = trim(line.substr(at + 4));
      continue;
    }
    if (line.find(",exec,") == std::string::npos) continue;
    // onednn_verbose,exec,cpu,convolution,<impl>,forward_inference,...
    std::vector<std::string> fields;
    std::istringstream parts(line);
    for (std::string f; std::getline(parts, f, ',');) fields.push_back(f);
    for (size_t i = 0; i + 1 < fields.size(); ++i) {
      if (fields[i] == "convolution") {
        if (std::find(impls.begin(), impls.end(), fields[i + 1]) == impls.end()) {
          impls.push_back(fields[i + 1]);
        }
        break;
      }
    }
  }
  conv_impl = fmt::format("{}", fmt::join(impls, " "));
}

std::string default_probe_cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg == '/') {
    return (std::filesystem::path(xdg) / "streaminfer").string();
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return (std::filesystem::path(home) / ".cache" / "streaminfer").string();
  }
  return {};
}

std::string probe_cache_key(const std::string& precision) {
  const std::string cap = max_cpu_isa();
  // "probe 2": the child runs a transformer block's operators too; older verdicts did not.
  return fmt::format("{}|{}|libtorch {}|ONEDNN_MAX_CPU_ISA={}|probe 2", precision, cpu_model(),
                     TORCH_VERSION, cap.empty() ? "unset" : cap);
}

PrecisionProbe probe_precision(const std::string& precision, const PrecisionProbeOptions& options) {
  const std::string key = probe_cache_key(precision);
  const std::string dir = options.cache_dir.empty() ? default_probe_cache_dir() : options.cache_dir;
  const std::string memo_key = dir + "\n" + key;
  if (options.use_cache) {
    std::lock_guard lock(memo_mutex());
    if (auto found = memo().find(memo_key); found != memo().end()) return found->second;
  }
  PrecisionProbe probe;
  if (options.use_cache && !dir.empty() &&
      read_cached(std::filesystem::path(dir) / "precision_probe.json", key, probe)) {
    std::lock_guard lock(memo_mutex());
    memo()[memo_key] = probe;
    return probe;
  }
  const ChildOutcome child = run_child(precision, options.timeout_s);
  probe = verdict(precision, child);
  // A verdict that depends on the moment (no child, a timeout, a child that someone killed) is
  // not worth remembering.
  const int sig = child.term_signal;
  const bool killed = sig == SIGKILL || sig == SIGTERM || sig == SIGINT || sig == SIGHUP;
  const bool lasting = child.spawn_error.empty() && !child.timed_out && !killed;
  if (options.use_cache && lasting) {
    if (!dir.empty()) write_cached(dir, key, probe);
    PrecisionProbe remembered = probe;
    remembered.from_cache = true;  // later calls in this process run no child
    std::lock_guard lock(memo_mutex());
    memo()[memo_key] = remembered;
  }
  return probe;
}

PrecisionProbe probe_precision(const std::string& precision) {
  return probe_precision(precision, PrecisionProbeOptions{});
}

std::string format_precision_fallback(const PrecisionProbe& probe) {
  return fmt::format("--precision {} is not usable here, running fp32: {}; {}", probe.precision,
                     probe.reason, probe.advice);
}

}  // namespace streaminfer
