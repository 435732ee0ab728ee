#pragma once
// Starts one `streaminfer run` process per worker, watches them, restarts one that crashed
// (killed by a signal, or an exit code other than 0, 1 and 2: those mean done, nothing could
// run, invalid input, and a restart would not change them), and stops them all together.
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "launch/worker_config.h"

namespace streaminfer {

struct SupervisorOptions {
  std::string binary;    // the streaminfer executable the workers run
  int max_restarts = 5;  // crashes in a row before a worker is given up; -1: no limit
  std::chrono::milliseconds restart_delay{1000};
  std::chrono::milliseconds stop_timeout{60000};  // after SIGINT, then SIGKILL
};

struct WorkerState {
  WorkerSpec spec;
  pid_t pid = -1;  // -1 when not running
  int restarts = 0;
  int crashes_in_row = 0;
  int64_t restart_due_ns = 0;  // 0: no restart pending
  int64_t started_ns = 0;
  std::string status = "starting";  // running, done, failed: ..., stopped
  std::string last_exit;            // "exit code 3", "killed by signal 9"
};

class Supervisor {
 public:
  Supervisor(std::vector<WorkerSpec> workers, SupervisorOptions options);
  ~Supervisor();  // kills what still runs

  // Starts every worker, then watches them until all ended (done or given up) or `stop` is set;
  // then SIGINT to each, waiting up to stop_timeout for them to write their outputs. Prints one
  // line per start, crash and restart.
  void run(const std::atomic<bool>& stop);
  const std::vector<WorkerState>& workers() const { return workers_; }

 private:
  void start(WorkerState& worker);
  // Reaps workers that ended; schedules restarts. Returns how many still run or will restart.
  int check(bool stopping);
  void stop_all();

  std::vector<WorkerState> workers_;
  SupervisorOptions options_;
};

// "exit code 3" / "killed by signal 9 (Killed)" from a waitpid status.
std::string describe_exit(int wait_status);

}  // namespace streaminfer
