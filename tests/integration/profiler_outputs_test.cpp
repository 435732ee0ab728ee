// Every profiler output of `streaminfer run`, produced on a file source and a synthetic source.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "run_command.h"

namespace streaminfer::test {
namespace {

TEST(ProfilerOutputs, FileAndSyntheticRunWritesEveryOutput) {
  TempDir dir;
  const std::string clip = (dir / "clip.mp4").string();
  const std::string clip_error = make_test_clip(clip);  // 2 s at 25 fps: 50 frames
  ASSERT_TRUE(clip_error.empty()) << clip_error;
  const auto out = dir / "out";
  const auto result =
      run_command({streaminfer_bin(), "run",
                   "--model",         "yolov8n",
                   "--source",        clip,
                   "--source",        "synthetic:?width=320&height=240&frames=30&seed=5",
                   "--pace",          "max",
                   "--imgsz",         "128",
                   "--threads",       "2",
                   "--batch-size",    "4",
                   "--metrics-dir",   out.string(),
                   "--trace",         (out / "run.json").string(),
                   "--core-bind",     "0",
                   "--no-progress"});
  ASSERT_EQ(result.exit_code, 0) << result.describe();

  // The system block and the binding it reports.
  for (const char* key : {"cpu:", "logical cores:", "memory:", "os:", "kernel:", "compiler:",
                          "ffmpeg:", "libtorch:", "libtorch threads:", "core binding:"}) {
    EXPECT_NE(result.out.find(key), std::string::npos) << key << "\n" << result.out;
  }
  EXPECT_TRUE(has_line_with_all(result.out, {"core binding:", " cores 0"})) << result.out;
  EXPECT_NE(result.out.find("bottleneck: "), std::string::npos);
  EXPECT_NE(result.out.find("inference thread: busy "), std::string::npos);

  // Per-frame CSV: one row per frame, every stage column filled.
  const auto frames = read_lines(only_file_with_prefix(out, "F_yolov8n_P_"));
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames[0],
            "stream,frame,step,batch_size,decode_ms,queue_wait_ms,batch_wait_ms,preprocess_ms,"
            "inference_wait_ms,exec_ms,post_ms,end_to_end_ms,done_ms,detections,recall");
  EXPECT_EQ(frames.size(), 1u + 50u + 30u);
  for (size_t i = 1; i < frames.size(); ++i) {
    EXPECT_EQ(std::count(frames[i].begin(), frames[i].end(), ','), 14) << frames[i];
    EXPECT_EQ(frames[i].find(",,"), std::string::npos) << "empty cell: " << frames[i];
    // recall: the synthetic stream (1) has ground truth, the file (0) has none.
    EXPECT_EQ(frames[i].back() == ',', frames[i][0] == '0') << frames[i];
  }

  // Queue samples and the summary JSON agree with the run.
  const auto queues = read_lines(only_file_with_prefix(out, "Q_yolov8n_P_"));
  ASSERT_GE(queues.size(), 3u);  // header + at least one sample per stream
  EXPECT_EQ(queues[0], "time_ms,stream,depth,dropped");
  const auto summary = nlohmann::json::parse(read_file(only_file_with_prefix(out, "S_yolov8n_P_")));
  EXPECT_EQ(summary["frames"].get<int>(), 80);
  ASSERT_EQ(summary["streams"].size(), 2u);
  EXPECT_EQ(summary["streams"][0]["frames"].get<int>(), 50);
  EXPECT_EQ(summary["streams"][1]["frames"].get<int>(), 30);
  EXPECT_EQ(summary["bottleneck"], "inference");
  EXPECT_EQ(summary["system"]["extra"]["core binding"], "cores 0") << summary["system"].dump();

  // The trace parses and holds a slice for every frame's decode.
  const auto trace = nlohmann::json::parse(read_file(out / "run.json"));
  int decode_slices = 0;
  for (const auto& e : trace["traceEvents"]) {
    if (e["ph"] == "X" && e["name"] == "decode") ++decode_slices;
  }
  EXPECT_EQ(decode_slices, 80);
}

TEST(ProfilerOutputs, CoreBindToACoreThatDoesNotExistIsAnError) {
  const auto result = run_command(
      {streaminfer_bin(), "run", "--core-bind", "4096", "--max-frames", "1", "--no-progress"});
  EXPECT_EQ(result.exit_code, 2) << result.describe();
  EXPECT_NE(result.err.find("streaminfer: error: --core-bind 4096"), std::string::npos)
      << result.err;
}

}  // namespace
}  // namespace streaminfer::test
