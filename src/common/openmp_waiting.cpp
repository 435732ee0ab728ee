#include "common/openmp_waiting.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace streaminfer {
namespace {

// Added beside GOMP_SPINCOUNT by the re-exec: says who chose it, and stops a second re-exec.
constexpr const char* kMarker = "STREAMINFER_OPENMP_WAITING=";

bool starts_with(const char* entry, const char* prefix) {
  return std::strncmp(entry, prefix, std::strlen(prefix)) == 0;
}

// "NAME=" followed by at least one character.
bool set_in(char** envp, const char* name_eq) {
  for (char** e = envp; e != nullptr && *e != nullptr; ++e) {
    if (starts_with(*e, name_eq) && (*e)[std::strlen(name_eq)] != 0) return true;
  }
  return false;
}

// Writes a + b into out (size bytes, always terminated): no formatting this early.
void concat(char* out, size_t size, const char* a, const char* b) {
  size_t n = 0;
  for (const char* p : {a, b}) {
    while (*p != 0 && n + 1 < size) out[n++] = *p++;
  }
  out[n] = 0;
}

const char* non_empty_env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != 0 ? value : nullptr;
}

}  // namespace

void choose_openmp_waiting(char** argv, char** envp) {
  if (argv == nullptr || envp == nullptr || set_in(envp, "OMP_WAIT_POLICY=") ||
      set_in(envp, "GOMP_SPINCOUNT=") || set_in(envp, kMarker)) {
    return;
  }
  // No allocation this early: a fixed table, enough for any real environment.
  constexpr size_t kMaxEntries = 4096;
  static char* env[kMaxEntries + 3];
  static char spin[64], marker[96];
  size_t n = 0;
  for (char** e = envp; *e != nullptr; ++e) {
    if (n == kMaxEntries) return;
    env[n++] = *e;
  }
  concat(spin, sizeof spin, "GOMP_SPINCOUNT=", kOpenMpSpinCount);
  concat(marker, sizeof marker, kMarker, "short-spin");
  env[n++] = spin;
  env[n++] = marker;
  env[n] = nullptr;
  // A stop signal that comes while the program starts again stays pending (the blocked set
  // survives exec) and reaches the handlers that the new start installs, which unblock it
  // (unblock_stop_signals_after_restart).
  sigset_t stops, before;
  sigemptyset(&stops);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&stops, sig);
  sigprocmask(SIG_BLOCK, &stops, &before);
  execve("/proc/self/exe", argv, env);  // returns only on failure
  sigprocmask(SIG_SETMASK, &before, nullptr);
}

void unblock_stop_signals_after_restart(char** envp) {
  if (!set_in(envp, kMarker)) return;
  sigset_t stops;
  sigemptyset(&stops);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&stops, sig);
  sigprocmask(SIG_UNBLOCK, &stops, nullptr);
}

bool openmp_waiting_chosen_by_streaminfer() {
  return non_empty_env("STREAMINFER_OPENMP_WAITING") != nullptr;
}

std::string openmp_waiting_description() {
  if (openmp_waiting_chosen_by_streaminfer() && non_empty_env("GOMP_SPINCOUNT") != nullptr) {
    return std::string("GOMP_SPINCOUNT=") + non_empty_env("GOMP_SPINCOUNT") +
           ": idle threads spin a short while, then sleep (set by streaminfer: it bridges a "
           "forward's kernels and holds throughput on a shared CPU; set OMP_WAIT_POLICY or "
           "GOMP_SPINCOUNT to choose)";
  }
  std::string told;
  for (const char* name : {"OMP_WAIT_POLICY", "GOMP_SPINCOUNT"}) {
    if (const char* value = non_empty_env(name)) {
      if (!told.empty()) told += ", ";
      told += std::string(name) + "=" + value;
    }
  }
  return told.empty() ? "libgomp's default (spin about 300000 rounds, then sleep)"
                      : told + " (from the environment)";
}

}  // namespace streaminfer
