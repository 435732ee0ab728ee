#pragma once
// How a command is asked to stop, by a terminal (Ctrl-C, a closed terminal), a supervisor or an
// orchestrator (SIGTERM), or by the command itself (its stdout reader went away), and what it
// does about it:
//   1st request: stop reading, finish every frame already read, close every output validly;
//   2nd request: shorten the drain (queued frames are left without a result and counted), still
//                close every output validly;
//   3rd signal:  the signal's default action (the process ends at once).
// request() is async-signal-safe (lock-free atomics and clock_gettime only), so signal handlers
// call it directly; everything else reads the state from any thread.
#include <atomic>
#include <cstdint>
#include <string>

namespace streaminfer {

// What the command was doing when the first request came.
enum class RunPhase : int { kStartUp = 0, kRunning = 1, kDraining = 2 };
const char* run_phase_name(RunPhase phase);

// A request that is not a signal: stdout (where the detections go) was closed by its reader.
inline constexpr int kStopStdoutClosed = -1;

class StopRequest {
 public:
  // Constant-initialized (zeros), so the process-wide one works before any constructor ran.
  constexpr StopRequest() = default;
  // When the command started (steady clock ns): a stop's time is told from it.
  int64_t started_ns() const { return started_ns_.load(); }
  void mark_started();

  // Async-signal-safe. `cause` is a signal number or kStopStdoutClosed.
  void request(int cause);
  // 0: not asked to stop; 1: drain; 2 or more: drain shortened.
  int level() const { return level_.load(std::memory_order_acquire); }
  bool requested() const { return level() > 0; }
  bool hurry() const { return level() > 1; }

  void set_phase(RunPhase phase) { phase_.store(static_cast<int>(phase)); }

  // The first request's cause ("SIGTERM", "stdout closed"), phase and time (steady clock ns);
  // empty / 0 before any request.
  std::string first_cause() const;
  RunPhase phase_at_first() const { return static_cast<RunPhase>(first_phase_.load()); }
  int64_t first_at_ns() const { return first_at_ns_.load(); }
  // Wall-clock time of the first request (ns since the epoch), for the summary's "when".
  int64_t first_at_unix_ns() const { return first_at_unix_ns_.load(); }
  int first_cause_code() const { return first_cause_.load(); }
  // The line to tell the user about a request not yet told ("stopping (SIGINT): ..."), once per
  // request level; empty when there is nothing new. Not async-signal-safe: for the threads that
  // watch the request.
  std::string take_announcement();
  // The cause of the second request, when there was one.
  std::string second_cause() const;
  int second_cause_code() const { return second_cause_.load(); }

 private:
  std::atomic<int> level_{0};
  std::atomic<int> phase_{0};
  std::atomic<int> first_cause_{0};
  std::atomic<int> second_cause_{0};
  std::atomic<int> first_phase_{0};
  std::atomic<int64_t> first_at_ns_{0};
  std::atomic<int64_t> first_at_unix_ns_{0};
  std::atomic<int64_t> started_ns_{0};
  std::atomic<int> announced_{0};
};

// The process's own, which the stop signals feed from the start of the process (see
// install_stop_signals).
StopRequest& process_stop_request();

// Sends SIGINT, SIGTERM and SIGHUP to `stop` (marking it started if it was not) until
// restore_stop_signals() (a third one of them ends the process with the signal's default
// action), and ignores SIGPIPE for good: a write to a closed pipe or socket then fails with
// EPIPE where the writer can say so, instead of killing the process silently. The binary calls
// it for process_stop_request() before any library initializes (LibTorch's take most of a
// second), so no stop signal is lost in that window.
void install_stop_signals(StopRequest& stop);
// Back to the signals' default actions. With `raise_pending`, a stop signal that came in the
// meantime is raised again now: a command that does not drain (report, info, ...) still ends by
// it. A command that handled the stop passes false.
void restore_stop_signals(bool raise_pending);

// "SIGINT", "SIGTERM", "SIGHUP", "stdout closed", or "signal N".
std::string stop_cause_name(int cause);
// The exit code of a stop that left frames without a result: 128 + the signal (130 for SIGINT,
// 143 for SIGTERM, 129 for SIGHUP).
int interrupted_exit_code(int cause);

}  // namespace streaminfer
