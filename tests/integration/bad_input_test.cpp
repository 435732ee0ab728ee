// Bad inputs: each one gives the documented exit code (1: no stream could run, 2: invalid flags,
// config or model, 0: at least one stream ran) and one "streaminfer: error: " line on stderr that
// names the input.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "run_command.h"

namespace streaminfer::test {
namespace {
namespace fs = std::filesystem;

constexpr int kClipFrames = 50;  // make_test_clip's default: 2 s at 25 fps

std::string good_source(int frames = 10, int seed = 1) {
  return synthetic_uri(160, 120, frames, seed);
}

std::string random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string bytes(n, '\0');
  for (auto& b : bytes) b = static_cast<char>(rng() & 0xff);
  return bytes;
}

// Runs `extra` and expects exit code `code` and one error line naming each of `names`, alone on
// stderr.
void expect_rejected(const std::vector<std::string>& extra, int code,
                     const std::vector<std::string>& names) {
  CommandResult r = run_command(streaminfer_run(extra));
  EXPECT_EQ(r.exit_code, code) << r.describe();
  EXPECT_EQ(check_error_line(r, names), "") << r.describe();
}

TEST(BadInput, MissingFileAloneExits1) {
  TempDir dir;
  const std::string missing = (dir / "does_not_exist.mp4").string();
  expect_rejected({"--source", missing}, 1, {missing});
}

TEST(BadInput, TextFileRenamedMp4AloneExits1) {
  TempDir dir;
  const fs::path fake = dir / "notes.mp4";
  write_file(fake, "These are meeting notes, not a video.\nSecond line.\n");
  expect_rejected({"--source", fake.string()}, 1, {fake.string()});
}

class DamagedClip : public ::testing::Test {
 protected:
  void SetUp() override {
    ClipSpec spec;  // mp4 with its index at the front (+faststart)
    ASSERT_EQ(make_test_clip(clip_, spec), "");
    bytes_ = read_file(clip_);
    ASSERT_GT(bytes_.size(), 1000u);
  }

  // Runs the damaged file alone and checks what every damaged file must give: exit 0, a valid
  // line for each frame 0..n-1, with 0 < n <= 50. Returns n.
  size_t run_damaged(const fs::path& damaged, CommandResult& r) {
    const fs::path jsonl_path = dir_ / "out.jsonl";
    r = run_command(
        streaminfer_run({"--source", damaged.string(), "--output", jsonl_path.string()}));
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    JsonlFile jsonl = parse_jsonl(jsonl_path);
    EXPECT_TRUE(jsonl.errors.empty()) << fmt::format("{}", fmt::join(jsonl.errors, "\n"));
    EXPECT_EQ(check_frame_indices(jsonl, 0, -1), "");
    EXPECT_GT(jsonl.frames.size(), 0u) << r.describe();
    EXPECT_LE(jsonl.frames.size(), static_cast<size_t>(kClipFrames));
    return jsonl.frames.size();
  }

  TempDir dir_;
  fs::path clip_ = dir_ / "clip.mp4";
  std::string bytes_;
};

TEST_F(DamagedClip, TruncatedClipGivesTheFramesBeforeTheCut) {
  const fs::path cut = dir_ / "truncated.mp4";
  write_file(cut, bytes_.substr(0, bytes_.size() * 4 / 10));
  CommandResult r;
  size_t frames = run_damaged(cut, r);
  EXPECT_LT(frames, static_cast<size_t>(kClipFrames)) << "40% of the bytes cannot hold every frame";
  EXPECT_EQ(check_error_line(r, {cut.string()}, /*only_line=*/false), "") << r.describe();
}

TEST_F(DamagedClip, CorruptClipStillRuns) {
  const fs::path corrupt = dir_ / "corrupt.mp4";
  std::string damaged = bytes_;
  const size_t from = damaged.size() * 45 / 100, to = damaged.size() * 55 / 100;
  damaged.replace(from, to - from, random_bytes(to - from, 7));
  write_file(corrupt, damaged);
  CommandResult r;
  size_t frames = run_damaged(corrupt, r);
  // The frames before the damage (about 45% of the clip) decode.
  EXPECT_GE(frames, static_cast<size_t>(kClipFrames / 4)) << r.describe();
  // Decode errors may be reported (at most one error line, naming the file); nothing else than
  // streaminfer's own lines on stderr (no raw FFmpeg log).
  auto errors = error_lines(r);
  EXPECT_LE(errors.size(), 1u) << r.describe();
  if (errors.size() == 1) {
    EXPECT_EQ(check_error_line(r, {corrupt.string()}, /*only_line=*/false), "") << r.describe();
  }
  for (const auto& line : non_empty_lines(r.err)) {
    EXPECT_EQ(line.rfind("streaminfer: ", 0), 0u) << "not streaminfer's own line: " << line;
  }
}

TEST(BadInput, UnknownModelNameExits2) {
  expect_rejected({"--source", good_source(), "--model", "yolov9x"}, 2, {"yolov9x"});
}

TEST(BadInput, ModelFileOfRandomBytesExits2) {
  TempDir dir;
  const fs::path model = dir / "garbage.torchscript";
  write_file(model, random_bytes(64 * 1024, 3));
  expect_rejected({"--source", good_source(), "--model", model.string()}, 2, {model.string()});
}

TEST(BadInput, MissingModelFileExits2) {
  TempDir dir;
  const std::string model = (dir / "absent.torchscript").string();
  expect_rejected({"--source", good_source(), "--model", model}, 2, {model});
}

TEST(BadInput, ModelWithWrongOutputShapeExits2) {
  if (!python_has_torch(STREAMINFER_TEST_PYTHON))
    GTEST_SKIP() << STREAMINFER_TEST_PYTHON << " cannot import torch";
  TempDir dir;
  const fs::path model = dir / "wrong_shape.torchscript";
  CommandResult made =
      run_command({STREAMINFER_TEST_PYTHON,
                   std::string(STREAMINFER_TEST_SCRIPTS) + "/make_yolov8_torchscript.py",
                   "--wrong-shape", "--imgsz", "320", "--out", model.string()},
                  std::chrono::seconds(300));
  ASSERT_EQ(made.exit_code, 0) << made.describe();
  CommandResult r =
      run_command(streaminfer_run({"--source", good_source(), "--model", model.string()}));
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_EQ(check_error_line(r, {model.string()}), "") << r.describe();
  auto errors = error_lines(r);
  if (!errors.empty()) {
    // The message says what is wrong with the output: the word "shape", or the shape itself.
    const std::string& line = errors[0];
    bool mentions_shape =
        line.find("shape") != std::string::npos || line.find("[1, 10]") != std::string::npos ||
        line.find("[1,10]") != std::string::npos || line.find("1x10") != std::string::npos;
    EXPECT_TRUE(mentions_shape) << "the error should mention the output shape: " << line;
  }
}

TEST(BadInput, BatchSizeZeroExits2) {
  expect_rejected({"--source", good_source(), "--batch-size", "0"}, 2, {"batch-size"});
}

TEST(BadInput, UnknownPaceExits2) {
  expect_rejected({"--source", good_source(), "--pace", "sometimes"}, 2, {"pace", "sometimes"});
}

TEST(BadInput, CudaDeviceInACpuBuildExits2) {
  expect_rejected({"--source", good_source(), "--device", "cuda"}, 2, {"cuda"});
}

TEST(BadInput, MalformedYamlConfigExits2) {
  TempDir dir;
  const fs::path config = dir / "broken.yaml";
  write_file(config, "source: [\"synthetic:?frames=5\"\nimgsz: : 320\n  - pace: [max\n");
  expect_rejected({"--config", config.string()}, 2, {config.string()});
}

TEST(BadInput, UnknownYamlKeyExits2) {
  TempDir dir;
  const fs::path config = dir / "typo.yaml";
  write_file(config, fmt::format("source:\n  - \"{}\"\nbatchsiz: 4\n", good_source()));
  expect_rejected({"--config", config.string()}, 2, {"batchsiz"});
}

TEST(BadInput, OneBadSourceAmongTwoGoodOnesRunsTheGoodOnes) {
  TempDir dir;
  const fs::path bad = dir / "bad.mp4";
  write_file(bad, "not a video at all\n");
  const fs::path jsonl_path = dir / "out.jsonl";
  CommandResult r = run_command(
      streaminfer_run({"--source", good_source(20, 1), "--source", bad.string(), "--source",
                       good_source(20, 2), "--pace", "max", "--output", jsonl_path.string()}));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(check_error_line(r, {bad.string()}, /*only_line=*/false), "") << r.describe();

  JsonlFile jsonl = parse_jsonl(jsonl_path);
  EXPECT_TRUE(jsonl.errors.empty()) << fmt::format("{}", fmt::join(jsonl.errors, "\n"));
  std::set<int64_t> streams;
  for (const auto& f : jsonl.frames) streams.insert(f.stream);
  EXPECT_EQ(streams, (std::set<int64_t>{0, 2})) << "stream ids follow the --source order";
  EXPECT_EQ(check_frame_indices(jsonl, 0, 20), "");
  EXPECT_EQ(check_frame_indices(jsonl, 2, 20), "");

  // The summary shows the bad stream as failed, and only that one.
  EXPECT_TRUE(has_line_with_all(r.out, {"failed", "bad.mp4"}))
      << "no summary line shows bad.mp4 as failed\n"
      << r.describe();
  EXPECT_FALSE(has_line_with_all(r.out, {"failed", "synthetic:"}))
      << "a good stream is shown as failed\n"
      << r.describe();
}

}  // namespace
}  // namespace streaminfer::test
