// The command line itself: help, unknown subcommands, and the job that runs with no arguments.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include <fmt/format.h>

#include "run_command.h"

namespace streaminfer::test {
namespace {
namespace fs = std::filesystem;

TEST(Cli, RunHelpListsTheFlags) {
  CommandResult r = run_command({streaminfer_bin(), "run", "--help"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  for (const char* flag :
       {"--source",      "--model",      "--weights",        "--imgsz",       "--batch-size",
        "--max-wait-ms", "--threads",    "--decode-threads", "--warmup",      "--max-frames",
        "--pace",        "--queue-size", "--conf",           "--iou",         "--max-det",
        "--device",      "--output",     "--metrics-dir",    "--no-progress", "--config"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << "run --help does not list " << flag << "\n"
                                                   << r.describe();
  }
}

TEST(Cli, UnknownSubcommandFails) {
  CommandResult r = run_command({streaminfer_bin(), "frobnicate"});
  EXPECT_FALSE(r.timed_out) << r.describe();
  EXPECT_NE(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.term_signal, 0) << r.describe();
  EXPECT_FALSE(r.err.empty()) << "an unknown subcommand should be explained on stderr\n"
                              << r.describe();
}

TEST(Cli, UnknownFlagExits2) {
  CommandResult r = run_command(streaminfer_run({"--frobnicate", "3"}));
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_EQ(check_error_line(r, {"frobnicate"}), "") << r.describe();
}

// No sources: 4 synthetic 1280x720 cameras at realtime pace, the bundled yolov8n-shapes detector
// (trained weights: it finds the cameras' shapes), a summary at the end with the accuracy.
TEST(Cli, DefaultJobRunsFourSyntheticCameras) {
  TempDir dir;
  const fs::path jsonl_path = dir / "default.jsonl";
  CommandResult r = run_command({streaminfer_bin(), "run", "--max-frames", "20", "--no-progress",
                                 "--output", jsonl_path.string()},
                                std::chrono::seconds(180));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_TRUE(has_line_with_all(r.out, {"yolov8n-shapes", "models/yolov8n-shapes-320.pt"}))
      << r.describe();
  EXPECT_EQ(r.out.find("random weights"), std::string::npos) << r.describe();
  EXPECT_TRUE(has_line_with_all(r.out, {"all streams: mAP@0.5 "})) << r.describe();
  for (const char* word :
       {"FPS", "decode", "preprocess", "inference", "postprocess", "end_to_end", "bottleneck:"}) {
    EXPECT_NE(r.out.find(word), std::string::npos) << "no \"" << word << "\" in the summary\n"
                                                   << r.describe();
  }
  // Four streams: each has a line in the summary (with its 1280x720 synthetic source or its
  // index) and results in the JSONL (realtime pace may drop frames, never a whole stream).
  size_t synthetic_lines = 0;
  for (const auto& line : split_lines(r.out))
    if (line.find("synthetic") != std::string::npos) ++synthetic_lines;
  EXPECT_GE(synthetic_lines, 4u) << "the summary should have a line per camera\n" << r.describe();
  JsonlFile jsonl = parse_jsonl(jsonl_path);
  EXPECT_TRUE(jsonl.errors.empty()) << fmt::format("{}", fmt::join(jsonl.errors, "\n"));
  std::set<int64_t> streams;
  size_t detections = 0;
  for (const auto& f : jsonl.frames) {
    streams.insert(f.stream);
    EXPECT_LT(f.frame, 20) << "--max-frames 20";
    detections += f.detections.size();
    for (const auto& d : f.detections) {
      EXPECT_TRUE(d.box[0] >= -0.005 && d.box[1] >= -0.005 && d.box[2] <= 1280.005 &&
                  d.box[3] <= 720.005)
          << fmt::format("stream {} frame {}: box [{}, {}, {}, {}] outside 1280x720", f.stream,
                         f.frame, d.box[0], d.box[1], d.box[2], d.box[3]);
    }
  }
  EXPECT_EQ(streams, (std::set<int64_t>{0, 1, 2, 3}));
  // Six shapes per camera: a trained detector finds some in every frame it processed.
  EXPECT_GE(detections, jsonl.frames.size()) << r.describe();
}

}  // namespace
}  // namespace streaminfer::test
