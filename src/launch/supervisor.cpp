#include "launch/supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdio>
#include <cstring>
#include <thread>

#include "streaminfer/clock.h"

namespace streaminfer {

namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(50);
constexpr int64_t kStableRunNs = 60'000'000'000;

}  // namespace

std::string describe_exit(int wait_status) {
  if (WIFSIGNALED(wait_status)) {
    return fmt::format("killed by signal {} ({})", WTERMSIG(wait_status),
                       strsignal(WTERMSIG(wait_status)));
  }
  return fmt::format("exit code {}", WEXITSTATUS(wait_status));
}

Supervisor::Supervisor(std::vector<WorkerSpec> workers, SupervisorOptions options)
    : options_(std::move(options)) {
  for (auto& spec : workers) {
    WorkerState state;
    state.spec = std::move(spec);
    workers_.push_back(std::move(state));
  }
}

Supervisor::~Supervisor() {
  for (auto& worker : workers_) {
    if (worker.pid <= 0) continue;
    kill(worker.pid, SIGKILL);
    waitpid(worker.pid, nullptr, 0);
  }
}

void Supervisor::start(WorkerState& worker) {
  const std::string out = (worker.spec.metrics_dir / "run.out").string();
  const std::string err = (worker.spec.metrics_dir / "run.err").string();
  const std::vector<std::string> args = {options_.binary, "run",
                                         "--config",      worker.spec.config.string(),
                                         "--metrics-dir", worker.spec.metrics_dir.string(),
                                         "--no-progress"};
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    // A worker must not outlive a launcher that was killed outright.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    // A process group of its own: a Ctrl-C in the terminal reaches the launcher alone, which
    // stops each worker with one signal (a worker that got the terminal's and the launcher's
    // would take them as "stop sooner" and leave its queued frames).
    setpgid(0, 0);
    if (getppid() != parent) _exit(1);
    const int in_fd = open("/dev/null", O_RDONLY);
    // Appended: the output of every run of this worker, restarts included, stays readable.
    const int out_fd = open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    const int err_fd = open(err.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in_fd < 0 || out_fd < 0 || err_fd < 0) _exit(127);
    dup2(in_fd, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  if (pid < 0) {
    worker.status = fmt::format("failed: cannot start a process ({})", std::strerror(errno));
    std::fprintf(stderr, "streaminfer: error: worker %s: %s\n", worker.spec.name.c_str(),
                 worker.status.c_str());
    return;
  }
  worker.pid = pid;
  worker.started_ns = now_ns();
  worker.status = "running";
  worker.restart_due_ns = 0;
  std::printf("launch: worker %s started (pid %d)%s\n", worker.spec.name.c_str(), pid,
              worker.restarts ? fmt::format(", restart {}", worker.restarts).c_str() : "");
  std::fflush(stdout);
}

int Supervisor::check(bool stopping) {
  int alive = 0;
  for (auto& worker : workers_) {
    if (worker.pid > 0) {
      int wait_status = 0;
      if (waitpid(worker.pid, &wait_status, WNOHANG) != worker.pid) {
        ++alive;
        continue;
      }
      const pid_t pid = worker.pid;
      worker.pid = -1;
      worker.last_exit = describe_exit(wait_status);
      const bool exited = WIFEXITED(wait_status);
      const int code = exited ? WEXITSTATUS(wait_status) : -1;
      // A worker that ran a good while before it crashed starts a new count of crashes in a row.
      if (now_ns() - worker.started_ns > kStableRunNs) worker.crashes_in_row = 0;
      if (stopping) {
        worker.status = "stopped";
      } else if (exited && code == 0) {
        worker.status = "done";
      } else if (exited && (code == 1 || code == 2)) {
        worker.status = fmt::format("failed: {} (see {}/run.err)", worker.last_exit,
                                    worker.spec.metrics_dir.string());
        std::fprintf(stderr, "streaminfer: error: worker %s: %s\n", worker.spec.name.c_str(),
                     worker.status.c_str());
      } else if (options_.max_restarts >= 0 && worker.crashes_in_row >= options_.max_restarts) {
        worker.status = fmt::format("failed: {} after {} restart(s) in a row", worker.last_exit,
                                    worker.crashes_in_row);
        std::fprintf(stderr, "streaminfer: error: worker %s (pid %d): %s; giving up\n",
                     worker.spec.name.c_str(), pid, worker.status.c_str());
      } else {
        ++worker.crashes_in_row;
        worker.status = "restarting";
        worker.restart_due_ns =
            now_ns() +
            std::chrono::duration_cast<std::chrono::nanoseconds>(options_.restart_delay).count();
        std::fprintf(stderr, "streaminfer: warning: worker %s (pid %d) %s; restarting\n",
                     worker.spec.name.c_str(), pid, worker.last_exit.c_str());
      }
    }
    if (worker.restart_due_ns > 0) {
      if (stopping) {
        worker.restart_due_ns = 0;
        worker.status = "stopped";
      } else if (now_ns() >= worker.restart_due_ns) {
        ++worker.restarts;
        start(worker);
        if (worker.pid > 0) ++alive;
      } else {
        ++alive;
      }
    }
  }
  return alive;
}

void Supervisor::stop_all() {
  for (auto& worker : workers_) {
    if (worker.pid > 0) kill(worker.pid, SIGINT);
  }
  const int64_t deadline =
      now_ns() +
      std::chrono::duration_cast<std::chrono::nanoseconds>(options_.stop_timeout).count();
  while (check(true) > 0 && now_ns() < deadline) std::this_thread::sleep_for(kPollInterval);
  for (auto& worker : workers_) {
    if (worker.pid <= 0) continue;
    kill(worker.pid, SIGKILL);
    waitpid(worker.pid, nullptr, 0);
    worker.pid = -1;
    worker.status = "killed: did not stop within the timeout";
  }
}

void Supervisor::run(const std::atomic<bool>& stop) {
  for (auto& worker : workers_) start(worker);
  while (!stop.load()) {
    if (check(false) == 0) return;
    std::this_thread::sleep_for(kPollInterval);
  }
  stop_all();
}

}  // namespace streaminfer
