// Every way a run is stopped, by a terminal (SIGINT, SIGHUP), a supervisor or an orchestrator
// (SIGTERM), once or twice, at every phase (start-up, running, draining), leaves every output
// valid (JSON Lines whole, CSVs with their header, the trace and the summary parse), a summary
// that says by what and when the run was interrupted, and the documented exit code: 0 when the
// drain finished, 128 + the signal when a second one cut it short. And the other ways a run can
// wait: a closed stdout reader, and a camera that never answers.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "output_checks.h"
#include "run_command.h"

namespace streaminfer::test {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

enum class Phase { kStartUp, kRunning, kDraining };

struct StopCase {
  int signal;
  int times;
  Phase phase;
};

std::string signal_name(int signal) {
  return signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : "SIGHUP";
}

std::string phase_name(Phase phase) {
  return phase == Phase::kStartUp ? "start-up" : phase == Phase::kRunning ? "running" : "draining";
}

// Whether the process has its handler for `signal` in place (/proc/PID/status, SigCgt): before
// that, the dynamic loader is still mapping LibTorch and the signal's default action applies.
bool catches(pid_t pid, int signal) {
  for (const auto& line : read_lines(fmt::format("/proc/{}/status", pid))) {
    if (line.rfind("SigCgt:", 0) != 0) continue;
    const uint64_t mask = std::stoull(line.substr(7), nullptr, 16);
    return (mask >> (signal - 1)) & 1;
  }
  return false;
}

size_t lines_in(const fs::path& path) { return split_lines(read_file(path)).size(); }

// The default job's cameras with every output on, a model slow enough here (yolov8n at 640,
// random weights) that frames queue up, so a drain takes seconds. Draining: four such cameras of
// 8 frames read as fast as they come, so they end at once and their queued frames drain. The
// precision and the kernels are set (fp32 on the channels-last oneDNN plan): timing their
// candidates and calibrating int8 at each start is load-time work these cases do not test, and it
// dominated them (a start-up case took 18-24 s in a full Release run with it, 8 s alone without;
// the SIGINT cases 68-81 s under ThreadSanitizer in CI).
std::vector<std::string> stop_run(const fs::path& dir, Phase phase) {
  std::vector<std::string> argv = {streaminfer_bin(),
                                   "run",
                                   "--model",
                                   "yolov8n",
                                   "--imgsz",
                                   "640",
                                   "--threads",
                                   "2",
                                   "--micro-batch",
                                   "2",
                                   "--precision",
                                   "fp32",
                                   "--fp32-kernels",
                                   "onednn-nhwc",
                                   "--warmup",
                                   "0",
                                   "--no-progress",
                                   "--output",
                                   (dir / "det.jsonl").string(),
                                   "--metrics-dir",
                                   (dir / "metrics").string(),
                                   "--trace",
                                   (dir / "trace.json").string()};
  if (phase == Phase::kDraining) {
    for (int seed = 1; seed <= 4; ++seed) {
      argv.insert(argv.end(), {"--source", synthetic_uri(1280, 720, 8, seed)});
    }
    argv.insert(argv.end(), {"--pace", "max", "--queue-size", "16"});
  } else {
    argv.insert(argv.end(), {"--queue-size", "4"});
  }
  return argv;
}

void PrintTo(const StopCase& c, std::ostream* os) {
  *os << signal_name(c.signal) << " x" << c.times << " during " << phase_name(c.phase);
}

class StopSignal : public ::testing::TestWithParam<StopCase> {};

TEST_P(StopSignal, OutputsStayValidAndTheSummarySaysHowTheRunWasStopped) {
  const StopCase c = GetParam();
  TempDir dir("streaminfer_stop");
  ChildProcess run(stop_run(dir.path(), c.phase), dir / "run.out", dir / "run.err");
  const fs::path out = dir / "run.out", err = dir / "run.err";
  switch (c.phase) {
    case Phase::kStartUp:
      ASSERT_TRUE(wait_until([&] { return catches(run.pid(), c.signal); }, 60s));
      break;
    case Phase::kRunning:
      ASSERT_TRUE(wait_until([&] { return lines_in(dir / "det.jsonl") >= 4; }, 120s))
          << read_file(err);
      break;
    case Phase::kDraining:
      // Every camera has ended; the frames they queued are still being inferred.
      ASSERT_TRUE(wait_until(
          [&] {
            const std::string text = read_file(out);
            size_t ended = 0;
            for (size_t at = text.find("end of stream"); at != std::string::npos;
                 at = text.find("end of stream", at + 1)) {
              ++ended;
            }
            return ended == 4;
          },
          120s))
          << read_file(err);
      break;
  }
  run.send(c.signal);
  if (c.times == 2) {
    // The second only after the first was taken (two pending signals of one kind merge into
    // one): at start-up 200 ms later, while LibTorch is still loading; later, once the run said
    // it is stopping, while the frames it read drain.
    if (c.phase == Phase::kStartUp) {
      std::this_thread::sleep_for(200ms);
    } else {
      ASSERT_TRUE(wait_until(
          [&] { return read_file(err).find("streaminfer: stopping (") != std::string::npos; },
          120s))
          << read_file(err);
    }
    run.send(c.signal);
  }
  ASSERT_TRUE(run.wait(120s)) << "did not end after " << signal_name(c.signal) << "\n"
                              << read_file(err);
  const std::string stdout_text = read_file(out), stderr_text = read_file(err);
  const std::string context = stdout_text + stderr_text;
  EXPECT_EQ(run.term_signal(), 0) << context;
  // Once: the drain finished, a clean end. Twice: 128 + the signal, whenever the second came.
  EXPECT_EQ(run.exit_code(), c.times == 1 ? 0 : 128 + c.signal) << context;

  EXPECT_EQ(check_outputs_valid(dir.path()), "") << context;
  const fs::path summary_path = only_file_with_prefix(dir / "metrics", "S_");
  const auto summary = nlohmann::json::parse(read_file(summary_path), nullptr, false);
  ASSERT_TRUE(summary.is_object()) << context;
  const auto& stop = summary["interrupted"];
  ASSERT_TRUE(stop.is_object()) << summary.dump(1);
  EXPECT_EQ(stop["by"], signal_name(c.signal));
  EXPECT_EQ(stop["phase"], phase_name(c.phase));
  EXPECT_GT(stop["after_s"].get<double>(), 0.0);
  if (c.times == 2) {
    // Named when it came before the summary was written (a start-up stop ends in milliseconds).
    if (!stop["second_by"].is_null()) {
      EXPECT_EQ(stop["second_by"], signal_name(c.signal));
    }
  } else {
    EXPECT_TRUE(stop["second_by"].is_null());
    EXPECT_EQ(stop["unprocessed"], 0);
  }
  // The words for people say it too, with the signal and the phase.
  EXPECT_TRUE(has_line_with_all(
      stdout_text, {"interrupted:", signal_name(c.signal), "during " + phase_name(c.phase)}))
      << stdout_text;
  // Every frame read has its line, but for the ones a second signal left (counted).
  const auto csv = read_csv(only_file_with_prefix(dir / "metrics", "M_"));
  int64_t batched = 0;
  for (const auto& row : csv.rows) batched += std::stoll(row[6]);  // batch_size
  EXPECT_EQ(static_cast<int64_t>(lines_in(dir / "det.jsonl")), batched);
  EXPECT_EQ(summary["frames"].get<int64_t>(), batched);
  if (c.phase == Phase::kStartUp) {
    EXPECT_EQ(batched, 0);
  }
}

std::vector<StopCase> stop_cases() {
  std::vector<StopCase> cases;
  for (Phase phase : {Phase::kStartUp, Phase::kRunning, Phase::kDraining}) {
    for (int signal : {SIGINT, SIGTERM, SIGHUP}) {
      for (int times : {1, 2}) cases.push_back({signal, times, phase});
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(EveryWay, StopSignal, ::testing::ValuesIn(stop_cases()),
                         [](const ::testing::TestParamInfo<StopCase>& info) {
                           const StopCase& c = info.param;
                           const std::string phase = c.phase == Phase::kStartUp   ? "StartUp"
                                                     : c.phase == Phase::kRunning ? "Running"
                                                                                  : "Draining";
                           return fmt::format("{}{}{}", signal_name(c.signal).substr(3),
                                              c.times == 1 ? "Once" : "Twice", phase);
                         });

TEST(StopByReader, AClosedStdoutEndsTheRunCleanlyWithOneLine) {
  TempDir dir("streaminfer_stdout");
  // The reader takes one line and goes; streaminfer must notice, say so, and end with 0.
  const std::string command = fmt::format(
      "'{}' run --source 'synthetic:?width=320&height=240&frames=300' --model yolov8n --imgsz 320 "
      "--threads 2 --micro-batch 1 --warmup 0 --no-progress --pace max --output - "
      "--metrics-dir '{}' 2>'{}' | head -1 >'{}'; echo \"${{PIPESTATUS[0]}}\"",
      streaminfer_bin(), (dir / "metrics").string(), (dir / "err.txt").string(),
      (dir / "first.jsonl").string());
  const CommandResult r = run_command({"/bin/bash", "-c", command}, 180s);
  const std::string err = read_file(dir / "err.txt");
  EXPECT_EQ(r.out, "0\n") << "streaminfer's exit status\n" << err;
  EXPECT_EQ(split_lines(read_file(dir / "first.jsonl")).size(), 1u);
  EXPECT_EQ(check_jsonl_text(read_file(dir / "first.jsonl")), "");
  EXPECT_NE(err.find("stdout was closed by its reader"), std::string::npos) << err;
  // The summary went to stderr with the rest of the words for people, and says why it stopped.
  EXPECT_NE(err.find("interrupted: stdout closed"), std::string::npos) << err;
  EXPECT_EQ(check_outputs_valid(dir.path()), "") << err;
}

// A TCP port that accepts connections and never says anything: a camera that hangs.
class SilentServer {
 public:
  SilentServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    ::listen(fd_, 8);  // the kernel completes connections; nobody ever reads or writes
    socklen_t length = sizeof(address);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~SilentServer() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(StopWhileOpening, ACameraThatNeverAnswersHoldsOnlyItsOwnStreamAndNotAStop) {
  SilentServer camera;
  TempDir dir("streaminfer_silent");
  const std::string silent = fmt::format("rtsp://127.0.0.1:{}/cam", camera.port());
  ChildProcess run({streaminfer_bin(),
                    "run",
                    "--source",
                    silent,
                    "--source",
                    "synthetic:?width=320&height=240&frames=10",
                    "--model",
                    "yolov8n",
                    "--imgsz",
                    "320",
                    "--threads",
                    "2",
                    "--micro-batch",
                    "1",
                    "--precision",
                    "fp32",
                    "--fp32-kernels",
                    "onednn-nhwc",
                    "--warmup",
                    "0",
                    "--pace",
                    "max",
                    "--no-progress",
                    "--stall-timeout",
                    "60",
                    "--output",
                    (dir / "det.jsonl").string()},
                   dir / "run.out", dir / "run.err");
  // The synthetic camera runs to its end while the other is still opening (up to 60 s). The
  // precision and kernels are set: timing their candidates at load took most of the 45 s under
  // ThreadSanitizer on a busy machine.
  ASSERT_TRUE(wait_until(
      [&] {
        return read_file(dir / "run.out").find("stream 1: end of stream") != std::string::npos;
      },
      45s))
      << read_file(dir / "run.out") << read_file(dir / "run.err");
  EXPECT_TRUE(run.running()) << "the silent camera cannot have failed yet";
  EXPECT_NE(read_file(dir / "run.out").find("opening"), std::string::npos);
  // A stop does not wait out the open.
  const auto stop_sent = std::chrono::steady_clock::now();
  run.send(SIGINT);
  ASSERT_TRUE(run.wait(30s)) << read_file(dir / "run.err");
  EXPECT_LT(std::chrono::steady_clock::now() - stop_sent, 20s);
  EXPECT_EQ(run.exit_code(), 0) << read_file(dir / "run.err");
  const JsonlFile jsonl = parse_jsonl(dir / "det.jsonl");
  EXPECT_EQ(check_frame_indices(jsonl, 1, 10), "");
  EXPECT_TRUE(has_line_with_all(read_file(dir / "run.out"), {"stopped before it opened"}))
      << read_file(dir / "run.out");
}

}  // namespace
}  // namespace streaminfer::test
