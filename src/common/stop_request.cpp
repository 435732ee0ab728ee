#include "common/stop_request.h"

#include "common/signal_name.h"

#include <algorithm>
#include <csignal>
#include <ctime>
#include <string>

namespace streaminfer {

namespace {

constexpr int kStopSignals[] = {SIGINT, SIGTERM, SIGHUP};

std::atomic<StopRequest*> g_stop{nullptr};

int64_t clock_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);  // async-signal-safe (POSIX)
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

extern "C" void on_stop_signal(int signal_number) {
  StopRequest* stop = g_stop.load();
  if (stop == nullptr) return;
  if (stop->level() >= 2) {
    // A third request: whatever the drain is doing, the user wants the process gone.
    std::signal(signal_number, SIG_DFL);
    std::raise(signal_number);
    return;
  }
  stop->request(signal_number);
}

}  // namespace

const char* run_phase_name(RunPhase phase) {
  switch (phase) {
    case RunPhase::kStartUp:
      return "start-up";
    case RunPhase::kRunning:
      return "running";
    case RunPhase::kDraining:
      return "draining";
  }
  return "unknown";
}

StopRequest& process_stop_request() {
  // Constant-initialized: usable from the binary's pre-initialization hook.
  static constinit StopRequest stop;
  return stop;
}

void StopRequest::mark_started() {
  int64_t unset = 0;
  started_ns_.compare_exchange_strong(unset, clock_ns(CLOCK_MONOTONIC));
}

void StopRequest::request(int cause) {
  const int before = level_.fetch_add(1, std::memory_order_acq_rel);
  if (before == 0) {
    first_cause_.store(cause);
    first_phase_.store(phase_.load());
    first_at_unix_ns_.store(clock_ns(CLOCK_REALTIME));
    first_at_ns_.store(clock_ns(CLOCK_MONOTONIC));
  } else if (before == 1) {
    second_cause_.store(cause);
  }
}

std::string StopRequest::first_cause() const {
  return requested() ? stop_cause_name(first_cause_.load()) : std::string();
}

std::string StopRequest::second_cause() const {
  return hurry() ? stop_cause_name(second_cause_.load()) : std::string();
}

std::string StopRequest::take_announcement() {
  const int now = std::min(level(), 2);
  if (announced_.exchange(now) >= now) return {};
  if (now == 1) {
    return "streaminfer: stopping (" + first_cause() +
           "): the frames already read get their results and every output is closed; the same "
           "signal again stops sooner";
  }
  return "streaminfer: stopping sooner (" + second_cause() +
         " again): the frames still queued are left without a result; every output is still "
         "closed";
}

void install_stop_signals(StopRequest& stop) {
  std::signal(SIGPIPE, SIG_IGN);
  stop.mark_started();
  g_stop.store(&stop);
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  // Restart interrupted system calls: a read in FFmpeg or a write to a file goes on, and the
  // stop is seen where the code checks for it.
  action.sa_flags = SA_RESTART;
  for (int signal_number : kStopSignals) sigaction(signal_number, &action, nullptr);
}

void restore_stop_signals(bool raise_pending) {
  StopRequest* stop = g_stop.exchange(nullptr);
  for (int signal_number : kStopSignals) std::signal(signal_number, SIG_DFL);
  if (raise_pending && stop != nullptr && stop->first_cause_code() > 0) {
    std::raise(stop->first_cause_code());
  }
}

std::string stop_cause_name(int cause) {
  if (cause == kStopStdoutClosed) return "stdout closed";
  if (cause == 0) return "a stop request";
  return signal_name(cause);
}

int interrupted_exit_code(int cause) { return cause > 0 ? 128 + cause : 1; }

}  // namespace streaminfer
