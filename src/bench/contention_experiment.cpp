#include "bench/contention_experiment.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/atomic_file.h"
#include "common/openmp_waiting.h"

extern char** environ;

namespace streaminfer {
namespace {

namespace fs = std::filesystem;

struct Variant {
  const char* name;
  // Set in the child's environment; the other OpenMP variables are removed.
  const char* env;
};
// libgomp's own default spin count, written out so that the child does not take streaminfer's;
// sleeping at once (what streaminfer chose before its short spin); and streaminfer's own choice,
// which the child makes itself (common/openmp_waiting.h).
const Variant kVariants[] = {{"libgomp default (spin)", "GOMP_SPINCOUNT=300000"},
                             {"sleep at once (passive)", "OMP_WAIT_POLICY=passive"},
                             {"streaminfer's choice", ""}};

// A process that only burns a core, ended by end_busy() or, whatever happens to this bench, by
// its parent's death and by an alarm after an hour.
pid_t start_busy() {
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    alarm(3600);
    volatile unsigned long spin = 0;
    for (;;) spin = spin + 1;
  }
  return pid;
}

void end_busy(std::vector<pid_t>& pids) {
  for (pid_t pid : pids) {
    if (pid > 0) kill(pid, SIGKILL);  // never -1 (a failed fork): that would signal every process
  }
  for (pid_t pid : pids) {
    if (pid > 0) waitpid(pid, nullptr, 0);
  }
  pids.clear();
}

std::vector<std::string> child_environment(const Variant& variant) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    if (entry.rfind("OMP_WAIT_POLICY=", 0) == 0 || entry.rfind("GOMP_SPINCOUNT=", 0) == 0 ||
        entry.rfind("STREAMINFER_OPENMP_WAITING=", 0) == 0) {
      continue;
    }
    env.push_back(entry);
  }
  if (*variant.env != 0) env.emplace_back(variant.env);
  return env;
}

// Runs `bin run FLAGS --metrics-dir DIR` with the variant's environment; its output goes to
// DIR/run.log. Reads the summary JSON it wrote.
Result<ContentionRun> run_job(const std::string& bin, const std::vector<std::string>& flags,
                              const Variant& variant, int busy, const fs::path& dir) {
  fs::create_directories(dir);
  std::vector<std::string> args = {bin, "run"};
  args.insert(args.end(), flags.begin(), flags.end());
  for (const char* extra : {"--no-progress", "--metrics-dir"}) args.emplace_back(extra);
  args.push_back(dir.string());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = child_environment(variant);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string log = (dir / "run.log").string();
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<pid_t> busy_pids;
  for (int i = 0; i < busy; ++i) {
    const pid_t busy_pid = start_busy();
    if (busy_pid < 0) {
      const std::string why = std::strerror(errno);
      end_busy(busy_pids);
      posix_spawn_file_actions_destroy(&actions);
      return Status::error(fmt::format("bench contention: cannot start a busy process ({})", why));
    }
    busy_pids.push_back(busy_pid);
  }
  pid_t pid = -1;
  const int spawned = posix_spawn(&pid, bin.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  int status = 0;
  if (spawned == 0) waitpid(pid, &status, 0);
  end_busy(busy_pids);
  if (spawned != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status::error(fmt::format("bench contention: the job '{}' failed ({}): see {}",
                                     fmt::join(args, " "),
                                     spawned != 0 ? "could not start" : "non-zero exit", log));
  }
  fs::path summary;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > 13 && name.compare(name.size() - 13, 13, "_summary.json") == 0)
      summary = entry.path();
  }
  std::ifstream in(summary);
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (summary.empty() || j.is_discarded()) {
    return Status::error(
        fmt::format("bench contention: the job wrote no summary in {}", dir.string()));
  }
  ContentionRun run;
  run.variant = variant.name;
  run.env = *variant.env != 0 ? variant.env : "(none: streaminfer chooses)";
  run.busy = busy;
  run.fps = j.value("fps", 0.0);
  run.frames = j.value("frames", 0L);
  for (const auto& s : j["streams"]) run.dropped += s.value("dropped", 0L);
  for (const auto& s : j["stages"]) {
    if (s.value("name", "") == "inference") run.inference_p50_ms = s.value("p50_ms", 0.0);
  }
  return run;
}

const ContentionRun* find(const ContentionResult& r, const std::string& variant, int busy) {
  for (const auto& run : r.runs) {
    if (run.variant == variant && run.busy == busy) return &run;
  }
  return nullptr;
}

}  // namespace

Result<ContentionResult> run_contention_bench(const std::string& bin,
                                              const ContentionOptions& options) {
  ContentionResult result;
  result.options = options;
  result.run_flags = options.run_flags.empty() ? std::vector<std::string>{"--precision", "int8"}
                                               : options.run_flags;
  // All rounds of every (variant, busy), interleaved; each pair's median FPS run is kept.
  std::vector<std::vector<ContentionRun>> samples(std::size(kVariants) * options.busy.size());
  for (int round = 0; round < options.rounds; ++round) {
    for (size_t b = 0; b < options.busy.size(); ++b) {
      for (size_t v = 0; v < std::size(kVariants); ++v) {
        const fs::path dir = fs::path(options.work_dir) /
                             fmt::format("v{}_busy{}_round{}", v, options.busy[b], round);
        auto run = run_job(bin, result.run_flags, kVariants[v], options.busy[b], dir);
        if (!run) return run.status();
        samples[b * std::size(kVariants) + v].push_back(run.value());
      }
    }
  }
  for (auto& pair : samples) {
    std::sort(pair.begin(), pair.end(),
              [](const ContentionRun& a, const ContentionRun& b) { return a.fps < b.fps; });
    result.runs.push_back(pair[pair.size() / 2]);
  }
  return result;
}

std::string format_contention_bench(const ContentionResult& r) {
  std::string text = fmt::format(
      "bench contention: streaminfer run {} alone and beside busy processes ({} round(s), "
      "median), OpenMP waiting: streaminfer's choice is {}\n",
      fmt::join(r.run_flags, " "), r.options.rounds,
      fmt::format("GOMP_SPINCOUNT={} (a short spin, then sleep)", kOpenMpSpinCount));
  text +=
      fmt::format("{:<24} {:>5} {:>8} {:>9} {:>8} {:>10} {:>14} {:>16}\n", "OpenMP waiting", "busy",
                  "FPS", "frames", "dropped", "infer p50", "vs own alone", "vs spin alone");
  const ContentionRun* spin_alone = find(r, kVariants[0].name, 0);
  for (const auto& run : r.runs) {
    const ContentionRun* alone = find(r, run.variant, 0);
    const auto ratio = [&](const ContentionRun* base) {
      return base != nullptr && base->fps > 0 ? fmt::format("{:.2f}x", run.fps / base->fps)
                                              : std::string("-");
    };
    text += fmt::format("{:<24} {:>5} {:>8.1f} {:>9} {:>8} {:>8.1f} ms {:>14} {:>16}\n",
                        run.variant, run.busy, run.fps, run.frames, run.dropped,
                        run.inference_p50_ms, ratio(alone), ratio(spin_alone));
  }
  return text;
}

Result<std::string> write_contention_bench_csv(const ContentionResult& r, const std::string& dir) {
  std::string csv = "variant,env,busy,fps,frames,dropped,inference_p50_ms\n";
  for (const auto& run : r.runs) {
    csv += fmt::format("{},{},{},{:.3f},{},{},{:.3f}\n", run.variant, run.env, run.busy, run.fps,
                       run.frames, run.dropped, run.inference_p50_ms);
  }
  const std::string path = (fs::path(dir) / "contention.csv").string();
  SI_RETURN_IF_ERROR(write_file_atomically(path, csv, "bench contention CSV"));
  return path;
}

BenchPlot contention_bench_plot(const ContentionResult& r) {
  BenchPlot plot;
  plot.title = "bench contention";
  BenchChart chart;
  chart.title = "Throughput beside busy processes";
  chart.hint = "Each line is one way for OpenMP threads to wait; flatter is better.";
  chart.x_label = "busy processes beside the job";
  chart.y_label = "frames per second";
  for (int busy : r.options.busy) chart.x.push_back(busy);
  for (const auto& variant : kVariants) {
    BenchSeries series{variant.name, {}};
    for (int busy : r.options.busy) {
      const ContentionRun* run = find(r, variant.name, busy);
      series.values.push_back(run != nullptr ? run->fps : kNoPoint);
    }
    chart.series.push_back(series);
  }
  plot.charts.push_back(chart);
  return plot;
}

}  // namespace streaminfer
