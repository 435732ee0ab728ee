// Live sources end to end: an RTSP camera (a real GStreamer RTSP server) that dies and comes
// back while a file stream runs beside it, cameras faster than inference (bounded latency,
// counted drops, flat memory), frame sampling on purpose, and Ctrl-C / SIGTERM that drain and
// write every output.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "child_process.h"
#include "run_command.h"

namespace streaminfer::test {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

int count_lines_with(const std::string& text, const std::string& needle) {
  int n = 0;
  for (const auto& line : split_lines(text)) n += line.find(needle) != std::string::npos;
  return n;
}

// Resident memory of a process in KiB (VmRSS), 0 when it is gone.
int64_t rss_kib(pid_t pid) {
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return 0;
}

// Waits until streaminfer has loaded the model and started its sources.
bool wait_for_start(ChildProcess& run, const fs::path& out) {
  return wait_until(
      [&] { return read_file(out).find("warm-up:") != std::string::npos || !run.running(); }, 120s);
}

struct RunFiles {
  nlohmann::json summary;
  JsonlFile jsonl;
  size_t frame_csv_rows = 0;
};

RunFiles read_run_files(const fs::path& metrics, const fs::path& jsonl) {
  RunFiles files;
  files.summary = nlohmann::json::parse(read_file(only_file_with_prefix(metrics, "S_")));
  files.jsonl = parse_jsonl(jsonl);
  const auto rows = read_lines(only_file_with_prefix(metrics, "F_"));
  files.frame_csv_rows = rows.empty() ? 0 : rows.size() - 1;
  return files;
}

// Everything a run writes accounts for the same frames: nothing is lost when it is stopped.
void expect_outputs_complete(const RunFiles& files) {
  const int64_t frames = files.summary["frames"].get<int64_t>();
  EXPECT_GT(frames, 0);
  EXPECT_TRUE(files.jsonl.errors.empty()) << files.jsonl.errors.front();
  EXPECT_EQ(static_cast<int64_t>(files.jsonl.frames.size()), frames);
  EXPECT_EQ(static_cast<int64_t>(files.frame_csv_rows), frames);
}

TEST(LiveRun, RtspCameraReconnectsAfterEachRestartWhileAFileStreamLosesNothing) {
  TempDir dir;
  ClipSpec camera_clip;
  camera_clip.seconds = 120;  // longer than the test: the camera never ends on its own
  camera_clip.fps = 15;
  ASSERT_EQ(make_test_clip(dir / "camera.mp4", camera_clip), "");
  ClipSpec file_clip;
  file_clip.seconds = 3;
  file_clip.fps = 25;
  ASSERT_EQ(make_test_clip(dir / "file.mp4", file_clip), "");
  RtspTestServer server(dir / "camera.mp4", dir.path());
  server.start();

  ChildProcess run(
      streaminfer_run({"--source", server.url(), "--source", (dir / "file.mp4").string(),
                       "--stall-timeout", "3", "--micro-batch", "2", "--output",
                       (dir / "det.jsonl").string(), "--metrics-dir", (dir / "metrics").string()}),
      dir / "run.out", dir / "run.err");
  ASSERT_TRUE(wait_for_start(run, dir / "run.out")) << read_file(dir / "run.err");
  ASSERT_TRUE(run.running()) << read_file(dir / "run.out") << read_file(dir / "run.err");
  std::this_thread::sleep_for(3s);

  constexpr int kRestarts = 3;
  for (int i = 1; i <= kRestarts; ++i) {
    server.kill();
    std::this_thread::sleep_for(1s);
    server.start();
    ASSERT_TRUE(wait_until(
        [&] { return count_lines_with(read_file(dir / "run.err"), "is back after") >= i; }, 60s))
        << "restart " << i << ": the stream did not come back\n"
        << read_file(dir / "run.err");
    std::this_thread::sleep_for(2s);
  }
  // Ctrl-C once the file's last frame is in the pipeline: from then on every frame of it must
  // get a result. (In the ThreadSanitizer build inference is several times slower, so the
  // file may still be running after the restarts.)
  ASSERT_TRUE(wait_until(
      [&] {
        return read_file(dir / "run.out").find("stream 1: end of stream") != std::string::npos;
      },
      120s))
      << read_file(dir / "run.out");
  run.send(SIGINT);
  ASSERT_TRUE(run.wait(60s)) << "streaminfer did not stop after SIGINT\n"
                             << read_file(dir / "run.err");
  const std::string err = read_file(dir / "run.err");
  ASSERT_EQ(run.exit_code(), 0) << read_file(dir / "run.out") << err;

  const RunFiles files = read_run_files(dir / "metrics", dir / "det.jsonl");
  expect_outputs_complete(files);
  const auto& camera = files.summary["streams"][0];
  const auto& file = files.summary["streams"][1];
  EXPECT_EQ(camera["reconnects"].get<int>(), kRestarts) << err;
  EXPECT_EQ(count_lines_with(err, "dropped (the server closed the stream)"), kRestarts) << err;
  EXPECT_GT(camera["frames"].get<int64_t>(), 20);
  // The camera never ends by itself: Ctrl-C stopped it, and the summary says so.
  EXPECT_EQ(camera["status"], "stopped");
  EXPECT_EQ(files.summary["interrupted"]["by"], "SIGINT");
  // The file stream beside it: every frame has a result, in order, with no gap.
  EXPECT_EQ(file["status"], "ok");
  EXPECT_EQ(file["frames"].get<int64_t>(), 75);
  EXPECT_EQ(check_frame_indices(files.jsonl, 1, 75), "");
  EXPECT_NE(read_file(dir / "run.out").find("stream 0 reconnected 3 time(s)"), std::string::npos);
}

TEST(LiveRun, CamerasFasterThanInferenceKeepLatencyBoundedAndMemoryFlat) {
  TempDir dir;
  // Four 60 fps cameras against a model that manages a few dozen frames per second here.
  constexpr int kFps = 60;
  constexpr int kQueue = 2;
  std::vector<std::string> args;
  for (int seed = 1; seed <= 4; ++seed) {
    args.insert(args.end(), {"--source", synthetic_uri(640, 480, 1000000, seed, kFps)});
  }
  args.insert(args.end(), {"--batch-size", "4", "--micro-batch", "2", "--queue-size",
                           std::to_string(kQueue), "--output", (dir / "det.jsonl").string(),
                           "--metrics-dir", (dir / "metrics").string()});
  ChildProcess run(streaminfer_run(args), dir / "run.out", dir / "run.err");
  ASSERT_TRUE(wait_for_start(run, dir / "run.out")) << read_file(dir / "run.err");
  std::this_thread::sleep_for(2s);  // past the first batches
  std::vector<int64_t> rss;
  for (int i = 0; i < 40 && run.running(); ++i) {
    rss.push_back(rss_kib(run.pid()));
    std::this_thread::sleep_for(250ms);
  }
  run.send(SIGTERM);
  ASSERT_TRUE(run.wait(60s)) << "streaminfer did not stop after SIGTERM";
  ASSERT_EQ(run.exit_code(), 0) << read_file(dir / "run.out") << read_file(dir / "run.err");
  ASSERT_EQ(rss.size(), 40u);

  const RunFiles files = read_run_files(dir / "metrics", dir / "det.jsonl");
  expect_outputs_complete(files);
  int64_t dropped = 0;
  for (const auto& stream : files.summary["streams"]) {
    EXPECT_GT(stream["dropped"].get<int64_t>(), 0) << stream.dump();
    EXPECT_GT(stream["frames"].get<int64_t>(), 0) << stream.dump();
    dropped += stream["dropped"].get<int64_t>();
  }
  // A frame waits at most: its stream queue (kQueue frames, newer ones push it out), the batch
  // in inference before it, and its own batch; plus preprocessing and postprocessing.
  double inference_p99 = 0, e2e_p99 = 0;
  for (const auto& stage : files.summary["stages"]) {
    if (stage["name"] == "inference") inference_p99 = stage["p99_ms"].get<double>();
    if (stage["name"] == "end_to_end") e2e_p99 = stage["p99_ms"].get<double>();
  }
  const double bound_ms = 3 * inference_p99 + (kQueue + 1) * 1000.0 / kFps + 200;
  EXPECT_LT(e2e_p99, bound_ms) << fmt::format("p99 end to end {:.0f} ms, inference p99 {:.0f} ms",
                                              e2e_p99, inference_p99);
  // Memory after warm-up: the last seconds hold no more than the first ones (5% slack for the
  // allocator's arenas).
  const auto third = static_cast<std::ptrdiff_t>(rss.size() / 3);
  const int64_t early = *std::max_element(rss.begin(), rss.begin() + third);
  const int64_t late = *std::max_element(rss.end() - third, rss.end());
  EXPECT_LE(static_cast<double>(late), static_cast<double>(early) * 1.05)
      << fmt::format("RSS {} KiB early, {} KiB late", early, late);
  RecordProperty("dropped", std::to_string(dropped));
  RecordProperty("e2e_p99_ms", fmt::format("{:.0f}", e2e_p99));
  RecordProperty("bound_ms", fmt::format("{:.0f}", bound_ms));
  RecordProperty("rss_early_late_kib", fmt::format("{} {}", early, late));
  std::printf("overload: %lld dropped, p99 end to end %.0f ms (bound %.0f), RSS %lld -> %lld KiB\n",
              static_cast<long long>(dropped), e2e_p99, bound_ms, static_cast<long long>(early),
              static_cast<long long>(late));
}

TEST(LiveRun, EveryNthAndSampleFpsInferOnlyTheChosenFrames) {
  TempDir dir;
  ClipSpec clip;
  clip.seconds = 2;
  clip.fps = 25;
  ASSERT_EQ(make_test_clip(dir / "clip.mp4", clip), "");
  const std::string path = (dir / "clip.mp4").string();

  auto r = run_command(streaminfer_run(
      {"--source", path, "--every-nth", "5", "--output", (dir / "nth.jsonl").string()}));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto nth = parse_jsonl(dir / "nth.jsonl");
  std::vector<int64_t> frames;
  for (const auto& f : nth.frames) frames.push_back(f.frame);
  std::sort(frames.begin(), frames.end());
  EXPECT_EQ(frames, (std::vector<int64_t>{0, 5, 10, 15, 20, 25, 30, 35, 40, 45}));
  EXPECT_NE(r.out.find("stream 0: 40 of 50 decoded frames skipped on purpose"), std::string::npos)
      << r.out;

  r = run_command(streaminfer_run(
      {"--source", path, "--sample-fps", "2", "--output", (dir / "fps.jsonl").string()}));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto sampled = parse_jsonl(dir / "fps.jsonl");
  ASSERT_EQ(sampled.frames.size(), 4u);  // 2 s at 2 frames per second
  std::vector<double> pts;
  for (const auto& f : sampled.frames) pts.push_back(f.pts);
  std::sort(pts.begin(), pts.end());
  for (size_t i = 1; i < pts.size(); ++i) EXPECT_NEAR(pts[i] - pts[i - 1], 0.5, 0.041);

  r = run_command(streaminfer_run({"--source", path, "--every-nth", "0"}));
  EXPECT_EQ(check_error_line(r, {"--every-nth"}), "");
}

}  // namespace
}  // namespace streaminfer::test
