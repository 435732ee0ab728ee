// `streaminfer launch` with real worker processes: started, one killed and restarted, all stopped
// together by Ctrl-C, summaries merged; bad worker files; and `run --shard i/N`.
#include <gtest/gtest.h>
#include <signal.h>

#include <regex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "child_process.h"
#include "run_command.h"

namespace streaminfer::test {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string worker_yaml(const std::string& name, const std::vector<int>& seeds) {
  std::string yaml = "  - name: " + name + "\n    source:\n";
  for (int seed : seeds) {
    yaml += "      - \"" + synthetic_uri(320, 240, 0, seed, 10) + "\"\n";
  }
  // One LibTorch thread each: the two workers share this machine's two cores. The precision and
  // the fp32 kernels are set: choosing them times the candidates at every start (a restart too);
  // under ThreadSanitizer LibTorch's kernels ran 590 ms a frame and the restarted worker had not
  // opened its sources in the 120 s this test waits (CI, stop 29).
  return yaml + "    imgsz: 320\n    threads: 1\n    micro-batch: 1\n    warmup: 0\n" +
         "    precision: fp32\n    fp32-kernels: onednn-nhwc\n";
}

pid_t started_pid(const std::string& out, const std::string& worker, int restart) {
  const std::string suffix = restart ? ", restart " + std::to_string(restart) : "";
  const std::regex line("launch: worker " + worker + " started \\(pid ([0-9]+)\\)" + suffix + "\n");
  std::smatch match;
  return std::regex_search(out, match, line) ? std::stoi(match[1]) : -1;
}

TEST(Launch, AKilledWorkerIsRestartedAndCtrlCMergesEveryWorkersSummary) {
  TempDir dir;
  write_file(dir / "workers.yaml",
             "workers:\n" + worker_yaml("lobby", {1}) + worker_yaml("parking", {2, 3}));
  // Without OMP_WAIT_POLICY (the test command sets it), as a user starts it.
  ChildProcess launch({"/usr/bin/env", "-u", "OMP_WAIT_POLICY", streaminfer_bin(), "launch",
                       (dir / "workers.yaml").string(), "-o", (dir / "out").string()},
                      dir / "launch.out", dir / "launch.err");
  pid_t parking = -1;
  ASSERT_TRUE(wait_until(
      [&] {
        parking = started_pid(read_file(dir / "launch.out"), "parking", 0);
        return (parking > 0 && started_pid(read_file(dir / "launch.out"), "lobby", 0) > 0) ||
               !launch.running();
      },
      60s))
      << read_file(dir / "launch.out") << read_file(dir / "launch.err");
  ASSERT_TRUE(launch.running()) << read_file(dir / "launch.err");
  // Let both load their model and run a while (each run writes its summary only when it ends).
  ASSERT_TRUE(wait_until(
      [&] {
        return read_file(dir / "out" / "lobby" / "run.out").find("warm-up") != std::string::npos ||
               read_file(dir / "out" / "lobby" / "run.out").find("stream 0") != std::string::npos;
      },
      120s));
  std::this_thread::sleep_for(3s);
  ::kill(parking, SIGKILL);
  ASSERT_TRUE(
      wait_until([&] { return started_pid(read_file(dir / "launch.out"), "parking", 1) > 0; }, 30s))
      << read_file(dir / "launch.out") << read_file(dir / "launch.err");
  const pid_t restarted = started_pid(read_file(dir / "launch.out"), "parking", 1);
  EXPECT_NE(restarted, parking);
  // The restarted worker gets going before the stop, so its summary has frames. Its run.out is
  // appended across restarts: a second "stream 0:" line means the new run has opened its sources.
  ASSERT_TRUE(wait_until(
      [&] {
        const std::string log = read_file(dir / "out" / "parking" / "run.out");
        const size_t first = log.find("stream 0:");
        return first != std::string::npos && log.find("stream 0:", first + 1) != std::string::npos;
      },
      120s))
      << read_file(dir / "out" / "parking" / "run.out");
  std::this_thread::sleep_for(3s);
  launch.send(SIGINT);
  ASSERT_TRUE(launch.wait(90s)) << "launch did not stop after SIGINT";
  const std::string out = read_file(dir / "launch.out"), err = read_file(dir / "launch.err");
  ASSERT_EQ(launch.exit_code(), 0) << out << err;
  EXPECT_TRUE(has_line_with_all(err, {"worker parking", "killed by signal 9", "restarting"}))
      << err;
  // The workers share the cores, so their OpenMP threads wait passively.
  EXPECT_TRUE(has_line_with_all(out, {"OMP_WAIT_POLICY=passive"})) << out;
  const std::string lobby_out = read_file(dir / "out" / "lobby" / "run.out");
  EXPECT_TRUE(has_line_with_all(lobby_out, {"openmp waiting:", "passive"})) << lobby_out;
  // Not with the launcher's own short spin: libgomp lets GOMP_SPINCOUNT override the policy.
  EXPECT_FALSE(has_line_with_all(lobby_out, {"openmp waiting:", "GOMP_SPINCOUNT"})) << lobby_out;
  EXPECT_TRUE(has_line_with_all(out, {"lobby", "stopped", " 0 ", " 1 "})) << out;
  EXPECT_TRUE(has_line_with_all(out, {"parking", "stopped", " 1 ", " 2 "})) << out;
  EXPECT_TRUE(has_line_with_all(out, {"total", " 1 ", " 3 "})) << out;

  const auto summary = nlohmann::json::parse(read_file(dir / "out" / "launch_summary.json"));
  ASSERT_EQ(summary["workers"].size(), 2u);
  const auto& lobby_totals = summary["workers"][0];
  const auto& parking_totals = summary["workers"][1];
  EXPECT_EQ(lobby_totals["name"], "lobby");
  EXPECT_EQ(lobby_totals["restarts"], 0);
  EXPECT_EQ(lobby_totals["streams"], 1);
  EXPECT_GT(lobby_totals["frames"].get<int64_t>(), 0);
  EXPECT_EQ(parking_totals["name"], "parking");
  EXPECT_EQ(parking_totals["restarts"], 1);
  EXPECT_EQ(parking_totals["streams"], 2);
  // The killed run wrote no summary; the restarted one, stopped by Ctrl-C, did.
  EXPECT_EQ(parking_totals["runs"], 1);
  EXPECT_GT(parking_totals["frames"].get<int64_t>(), 0);
  // No worker outlives the launcher.
  EXPECT_NE(::kill(restarted, 0), 0);
}

TEST(Launch, AWorkerWithABadKeyIsRejectedNamingTheWorker) {
  TempDir dir;
  write_file(dir / "workers.yaml",
             "workers:\n" + worker_yaml("ok", {1}) + "  - name: typo\n    batchsize: 4\n");
  const auto r = run_command(
      {streaminfer_bin(), "launch", (dir / "workers.yaml").string(), "-o", (dir / "out").string()});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_EQ(check_error_line(r, {"worker 'typo'", "batchsize"}, false), "") << r.describe();

  write_file(dir / "none.yaml", "workers: []\n");
  const auto empty = run_command({streaminfer_bin(), "launch", (dir / "none.yaml").string()});
  EXPECT_EQ(empty.exit_code, 2);
  EXPECT_EQ(check_error_line(empty, {"list of workers"}), "") << empty.describe();
}

TEST(Shard, EachShardRunsItsShareOfTheSourceList) {
  const std::vector<std::string> sources = {
      synthetic_uri(160, 128, 3, 1), synthetic_uri(160, 128, 3, 2), synthetic_uri(160, 128, 3, 3)};
  std::vector<std::string> args;
  for (const auto& s : sources) args.insert(args.end(), {"--source", s});
  auto shard_args = args;
  shard_args.insert(shard_args.end(), {"--shard", "1/2", "--pace", "max"});
  const auto r = run_command(streaminfer_run(shard_args));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.out.find("shard 1/2: 1 of 3 source(s)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("stream 0: " + sources[1]), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(sources[0]), std::string::npos) << r.out;

  auto empty_args = args;
  empty_args.insert(empty_args.end(), {"--shard", "3/4"});
  const auto empty = run_command(streaminfer_run(empty_args));
  EXPECT_EQ(empty.exit_code, 2);
  EXPECT_EQ(check_error_line(empty, {"--shard 3/4", "no source falls in this shard"}), "")
      << empty.describe();
  auto bad_args = args;
  bad_args.insert(bad_args.end(), {"--shard", "2of4"});
  EXPECT_EQ(check_error_line(run_command(streaminfer_run(bad_args)), {"--shard 2of4", "i/N"}), "");
}

}  // namespace
}  // namespace streaminfer::test
