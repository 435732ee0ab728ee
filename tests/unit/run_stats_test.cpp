#include "profile/run_stats.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>

namespace streaminfer {
namespace {

RunStats sample_stats() {
  RunStats stats;
  stats.wall_seconds = 12.41;
  stats.batches = 60;
  for (int i = 0; i < 3; ++i) {
    StreamStats s;
    s.stream_id = i;
    s.uri = "synthetic:?width=1280&height=720&fps=30&objects=6&seed=" + std::to_string(i) +
            "&a_very_long_query_that_will_not_fit_in_the_column=1";
    s.frames_decoded = 300;
    s.frames_done = 80;
    s.dropped = 220;
    stats.streams.push_back(s);
  }
  stats.streams[2].uri = "cam.mp4";
  stats.streams[2].status =
      "failed: cannot open 'cam.mp4': No such file or directory (check the path and that the "
      "file is readable)";
  for (int i = 0; i < 60; ++i) stats.stage(Stage::kInference).add(200 + i % 10);
  for (int i = 0; i < 240; ++i) stats.stage(Stage::kDecode).add(3.0);
  for (int i = 0; i < 240; ++i) stats.stage(Stage::kEndToEnd).add(400.0 + i);
  stats.busy_ms[static_cast<size_t>(Stage::kInference)] = 0.97 * 12410;
  stats.busy_ms[static_cast<size_t>(Stage::kDecode)] = 0.30 * 12410;
  stats.busy_ms[static_cast<size_t>(Stage::kPreprocess)] = 0.10 * 12410;
  return stats;
}

std::string line_starting_with(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0) return line;
  }
  return {};
}

TEST(RunStatsTest, StageNames) {
  EXPECT_STREQ(stage_name(Stage::kDecode), "decode");
  EXPECT_STREQ(stage_name(Stage::kQueueWait), "queue_wait");
  EXPECT_STREQ(stage_name(Stage::kBatchWait), "batch_wait");
  EXPECT_STREQ(stage_name(Stage::kPreprocess), "preprocess");
  EXPECT_STREQ(stage_name(Stage::kInference), "inference");
  EXPECT_STREQ(stage_name(Stage::kPostprocess), "postprocess");
  EXPECT_STREQ(stage_name(Stage::kEndToEnd), "end_to_end");
}

TEST(RunStatsTest, FpsAndTotals) {
  const RunStats stats = sample_stats();
  EXPECT_EQ(stats.total_frames_done(), 240);
  EXPECT_NEAR(stats.streams[0].fps(12.41), 80 / 12.41, 1e-9);
  EXPECT_EQ(stats.streams[0].fps(0), 0.0);
}

TEST(RunStatsTest, SummaryHasHeadlineStreamsStagesAndBottleneck) {
  const std::string text = format_summary(sample_stats());
  EXPECT_NE(text.find("240 frames in 12.41 s, 19.3 FPS total, 60 batches"), std::string::npos)
      << text;
  for (int i = 0; i < 3; ++i) {
    const std::string row = line_starting_with(text, std::to_string(i) + " ");
    ASSERT_FALSE(row.empty()) << "no row for stream " << i << "\n" << text;
    EXPECT_NE(row.find("80"), std::string::npos) << row;
    EXPECT_NE(row.find("6.4"), std::string::npos) << row;  // 80 / 12.41
    EXPECT_NE(row.find("220"), std::string::npos) << row;
  }
  // Long URIs are cut in the middle: both ends stay recognizable.
  const std::string row0 = line_starting_with(text, "0 ");
  EXPECT_NE(row0.find("synthetic:"), std::string::npos) << row0;
  EXPECT_NE(row0.find("..."), std::string::npos) << row0;
  EXPECT_NE(row0.find("in_the_column=1"), std::string::npos) << row0;
  EXPECT_LT(row0.size(), 160u);

  for (const char* stage : {"decode", "queue_wait", "batch_wait", "preprocess", "inference",
                            "postprocess", "end_to_end"}) {
    EXPECT_FALSE(line_starting_with(text, std::string(stage) + " ").empty())
        << "no row for " << stage << "\n"
        << text;
  }
  const std::string inference = line_starting_with(text, "inference ");
  EXPECT_NE(inference.find(" 60 "), std::string::npos) << inference;
  EXPECT_NE(inference.find("209.00"), std::string::npos) << inference;  // max exact
  EXPECT_NE(inference.find("97%"), std::string::npos) << inference;
  EXPECT_EQ(line_starting_with(text, "bottleneck:"), "bottleneck: inference, busy 97% of wall time")
      << text;
}

TEST(RunStatsTest, FailedStreamReasonShownInFull) {
  const RunStats stats = sample_stats();
  const std::string text = format_summary(stats);
  const std::string row2 = line_starting_with(text, "2 ");
  EXPECT_NE(row2.find("failed: cannot open"), std::string::npos) << row2;
  EXPECT_EQ(row2.find("file is readable)"), std::string::npos) << "table cell not truncated";
  EXPECT_NE(text.find(stats.streams[2].status), std::string::npos) << "full reason missing";
}

TEST(RunStatsTest, EmptyRunDoesNotDivideByZero) {
  RunStats stats;
  const std::string text = format_summary(stats);
  EXPECT_NE(text.find("0 frames in 0.00 s, 0.0 FPS total, 0 batches"), std::string::npos) << text;
  EXPECT_NE(text.find("bottleneck: unknown"), std::string::npos) << text;
}

TEST(RunStatsTest, AStoppedRunSaysByWhatWhenAndWhatItLeft) {
  RunStats stats = sample_stats();
  StopRecord stop;
  stop.cause = "SIGTERM";
  stop.phase = "running";
  stop.after_s = 3.25;
  stop.at_time = "2026-12-06 23:01:42";
  stats.stopped = stop;
  std::string text = format_summary(stats);
  EXPECT_NE(text.find("interrupted: SIGTERM at 2026-12-06 23:01:42 (3.25 s after start, during "
                      "running); the sources were stopped and every frame already read got its "
                      "result"),
            std::string::npos)
      << text;
  stop.second_cause = "SIGTERM";
  stop.unprocessed = 12;
  EXPECT_NE(format_stop(stop).find("a second SIGTERM cut the drain short: 12 frame(s)"),
            std::string::npos);
  stop.phase = "start-up";
  stop.second_cause.clear();
  EXPECT_NE(format_stop(stop).find("before any frame was read"), std::string::npos);
  // A stream the stop ended is no problem to list.
  stats.streams[0].status = "stopped";
  stats.streams[0].unprocessed = 3;
  stats.streams[0].non_finite_frames = 2;
  text = format_summary(stats);
  EXPECT_EQ(text.find("stream 0 (" + stats.streams[0].uri + ") stopped"), std::string::npos)
      << text;
  EXPECT_NE(text.find("stream 0: 3 frame(s) read but left without a result"), std::string::npos);
  EXPECT_NE(text.find("stream 0: 2 frame(s) whose model output held NaN"), std::string::npos);
}

}  // namespace
}  // namespace streaminfer
