#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "commands.h"
#include "common/atomic_file.h"
#include "common/openmp_waiting.h"
#include "launch/merged_summary.h"
#include "launch/supervisor.h"
#include "launch/worker_config.h"

namespace streaminfer::app {

namespace {

std::atomic<bool> g_stop_launch{false};

extern "C" void on_launch_signal(int signal_number) {
  g_stop_launch.store(true);
  std::signal(signal_number, SIG_DFL);  // a second Ctrl-C ends the launcher at once
}

}  // namespace

int launch_command(const LaunchOptions& options) {
  const std::filesystem::path out_dir = options.out_dir;
  auto workers = load_workers(options.workers_file, out_dir);
  if (!workers) {
    print_error(workers.status().message());
    return 2;
  }
  std::printf("launch: %zu worker(s) from %s; outputs under %s/<worker>/\n", workers.value().size(),
              options.workers_file.c_str(), out_dir.c_str());
  std::fflush(stdout);
  // Workers share this machine's cores. OpenMP's idle threads spin by default, taking the cores
  // a neighbouring worker needs: two runs side by side on 2 cores took 11.5 s spinning against
  // 3.4 s waiting passively; so workers sleep at once rather than take this process's own short
  // spin (common/openmp_waiting.h; libgomp lets GOMP_SPINCOUNT override the policy, hence
  // removed). A choice the user made is kept.
  const bool users_choice =
      !openmp_waiting_chosen_by_streaminfer() &&
      ((std::getenv("OMP_WAIT_POLICY") != nullptr && *std::getenv("OMP_WAIT_POLICY") != 0) ||
       (std::getenv("GOMP_SPINCOUNT") != nullptr && *std::getenv("GOMP_SPINCOUNT") != 0));
  if (!users_choice) {
    unsetenv("GOMP_SPINCOUNT");
    unsetenv("STREAMINFER_OPENMP_WAITING");
    setenv("OMP_WAIT_POLICY", "passive", 1);
    std::printf(
        "launch: workers wait passively in OpenMP (OMP_WAIT_POLICY=passive), as they share "
        "cores; set OMP_WAIT_POLICY or GOMP_SPINCOUNT to choose otherwise\n");
  }
  SupervisorOptions supervisor_options;
  // This very binary, as the precision probe re-executes it: still there if the file was
  // replaced by a rebuild while the workers run.
  supervisor_options.binary = "/proc/self/exe";
  supervisor_options.max_restarts = options.max_restarts;
  Supervisor supervisor(std::move(workers.value()), supervisor_options);

  std::signal(SIGINT, on_launch_signal);
  std::signal(SIGTERM, on_launch_signal);
  supervisor.run(g_stop_launch);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);

  const auto totals = collect_worker_totals(supervisor.workers());
  std::printf("%s", format_merged_summary(totals).c_str());
  const auto summary_path = out_dir / "launch_summary.json";
  if (Status written = write_file_atomically(
          summary_path.string(), merged_summary_json(totals).dump(2) + "\n", "launch summary");
      !written) {
    print_error(written.message());
    return 1;
  }
  std::printf("wrote %s\n", summary_path.c_str());
  std::fflush(stdout);
  for (const auto& worker : supervisor.workers()) {
    if (worker.status.rfind("failed", 0) == 0 || worker.status.rfind("killed", 0) == 0) return 1;
  }
  return 0;
}

}  // namespace streaminfer::app
