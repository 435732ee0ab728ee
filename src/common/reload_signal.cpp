#include "common/reload_signal.h"

#include <atomic>
#include <csignal>

namespace streaminfer {

namespace {

std::atomic<int> g_reload_requests{0};
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs a lock-free count");

void on_reload_signal(int) { g_reload_requests.fetch_add(1); }

}  // namespace

void install_reload_signal() {
  struct sigaction action {};
  action.sa_handler = on_reload_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGHUP, &action, nullptr);
}

int take_reload_requests() { return g_reload_requests.exchange(0); }

}  // namespace streaminfer
