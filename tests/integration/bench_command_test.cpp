// `streaminfer bench` end to end: each experiment's table and CSV files, and bad input.
#include <gtest/gtest.h>

#include <cstdlib>

#include "run_command.h"

namespace streaminfer::test {
namespace {

namespace fs = std::filesystem;

CommandResult bench(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {STREAMINFER_BIN, "bench"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, std::chrono::seconds(300));
}

TEST(BenchCommand, PostprocessPrintsTheTableAndWritesBothCsvFiles) {
  TempDir dir("streaminfer_bench");
  const auto r =
      bench({"postprocess", "--reps", "5", "--naive-reps", "1", "--model", "yolov8n", "--imgsz",
             "320", "--forward-reps", "1", "--output-dir", (dir / "out").string()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.out.find("bench postprocess: YOLOv8 output [1, 84, 8400]"), std::string::npos)
      << r.describe();
  EXPECT_NE(r.out.find("logical cores:"), std::string::npos) << "no system block\n" << r.describe();
  for (const char* version : {"naive per-anchor loop", "per-anchor reference", "vectorized"}) {
    EXPECT_TRUE(has_line_with_all(r.out, {version, "yes"})) << version << "\n" << r.describe();
  }
  EXPECT_TRUE(has_line_with_all(r.out, {"model forward (yolov8n at 320x320", "% of it"}))
      << r.describe();

  const auto summary = read_csv(dir / "out" / "postprocess_summary.csv");
  EXPECT_EQ(summary.header, "version,p50_ms,mean_ms,min_ms,speedup_vs_naive,kept,same_boxes");
  ASSERT_EQ(summary.rows.size(), 3u);
  const std::vector<std::string> ids = {"naive", "reference", "vectorized"};
  for (size_t i = 0; i < ids.size(); ++i) {
    ASSERT_EQ(summary.rows[i].size(), 7u);
    EXPECT_EQ(summary.rows[i][0], ids[i]);
    EXPECT_GT(std::stod(summary.rows[i][1]), 0.0);
    EXPECT_GT(std::stoi(summary.rows[i][5]), 0);
    EXPECT_EQ(summary.rows[i][6], "1");
  }
  EXPECT_EQ(summary.rows[0][4], "1.00");
  const auto runs = read_csv(dir / "out" / "postprocess_runs.csv");
  EXPECT_EQ(runs.header, "version,rep,batch,ms_per_frame");
  EXPECT_EQ(runs.rows.size(), 1u + 5u + 5u);
}

TEST(BenchCommand, BatchingComparesSequentialWithBatchedAndWritesTheCsv) {
  TempDir dir("streaminfer_bench");
  const auto r = bench({"batching", "--streams", "1,2", "--batch-sizes", "2", "--frames", "3",
                        "--imgsz", "64", "--width", "160", "--height", "96", "--threads", "1",
                        "--warmup", "0", "--output-dir", (dir / "out").string()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.out.find("logical cores:"), std::string::npos) << "no system block\n" << r.describe();
  EXPECT_TRUE(has_line_with_all(r.out, {"2 cameras: sequential", "FPS each, batched"}))
      << r.describe();

  const auto csv = read_csv(dir / "out" / "batching.csv");
  EXPECT_EQ(csv.header,
            "streams,batch,mode,frames,wall_s,aggregate_fps,per_camera_fps,drop_vs_one_camera,"
            "p50_ms,p99_ms");
  // 1 camera: batch 1; 2 cameras: batch 1 and 2.
  ASSERT_EQ(csv.rows.size(), 3u) << r.describe();
  const std::vector<std::vector<std::string>> expected = {
      {"1", "1", "sequential", "3"}, {"2", "1", "sequential", "6"}, {"2", "2", "batched", "6"}};
  for (size_t i = 0; i < expected.size(); ++i) {
    ASSERT_EQ(csv.rows[i].size(), 10u);
    for (size_t c = 0; c < expected[i].size(); ++c) {
      EXPECT_EQ(csv.rows[i][c], expected[i][c]) << "row " << i << " column " << c;
    }
    EXPECT_GT(std::stod(csv.rows[i][5]), 0.0);                        // aggregate FPS
    EXPECT_GE(std::stod(csv.rows[i][9]), std::stod(csv.rows[i][8]));  // p99 >= p50
  }
  EXPECT_EQ(std::stod(csv.rows[0][7]), 0.0);  // one camera drops nothing against itself
}

TEST(BenchCommand, ModelTimesEachStepAndWritesTheCsv) {
  TempDir dir("streaminfer_bench");
  // The precision probe's cache goes to the test's directory, not the user's ~/.cache (each test
  // runs in its own process under ctest).
  ::setenv("XDG_CACHE_HOME", dir.path().c_str(), 1);
  const auto r = bench({"model", "--imgsz", "64", "--batch", "2", "--reps", "2", "--warmup", "1",
                        "--threads", "1", "--output-dir", (dir / "out").string()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.out.find("logical cores:"), std::string::npos) << "no system block\n" << r.describe();
  EXPECT_NE(r.out.find("bench model: yolov8n forward only, input 64x64, batch 2, 1 LibTorch "
                       "thread(s)"),
            std::string::npos)
      << r.describe();
  EXPECT_TRUE(has_line_with_all(r.out, {"oneDNN for the fp32 rows", "oneDNN ISA: "}))
      << r.describe();
  for (const char* step : {"eager fp32", "+ fused BatchNorm", "+ channels-last"}) {
    EXPECT_TRUE(has_line_with_all(r.out, {step, "x"})) << step << "\n" << r.describe();
  }
  EXPECT_TRUE(has_line_with_all(r.out, {"+ bf16"})) << r.describe();
  EXPECT_TRUE(has_line_with_all(r.out, {"int8", "not implemented"})) << r.describe();

  const auto csv = read_csv(dir / "out" / "model_speed.csv");
  EXPECT_EQ(csv.header,
            "step,available,batch,imgsz,threads,reps,p50_ms,mean_ms,min_ms,images_per_s,"
            "gain_vs_previous,gain_vs_eager,max_score_diff,max_box_diff_px,onednn,note");
  ASSERT_EQ(csv.rows.size(), 5u) << r.describe();
  const std::vector<std::string> ids = {"eager", "fused_bn", "channels_last", "bf16", "int8"};
  for (size_t i = 0; i < ids.size(); ++i) {
    ASSERT_EQ(csv.rows[i].size(), 16u) << "row " << i;
    EXPECT_EQ(csv.rows[i][0], ids[i]);
    EXPECT_EQ(csv.rows[i][2], "2");
    EXPECT_EQ(csv.rows[i][3], "64");
  }
  for (size_t i = 0; i < 3; ++i) {  // float32 steps always run
    EXPECT_EQ(csv.rows[i][1], "1") << ids[i];
    EXPECT_EQ(csv.rows[i][5], "2") << ids[i];
    EXPECT_GT(std::stod(csv.rows[i][6]), 0.0) << ids[i];
    EXPECT_GT(std::stod(csv.rows[i][9]), 0.0) << ids[i];
    EXPECT_LT(std::stod(csv.rows[i][12]), 1e-3) << ids[i];  // same output as eager
  }
  EXPECT_EQ(csv.rows[0][11], "1.000");  // eager against itself
  if (csv.rows[3][1] == "0") {
    EXPECT_NE(csv.rows[3][15].find("unavailable: "), std::string::npos);
  }
  EXPECT_EQ(csv.rows[4][1], "0");
  EXPECT_NE(csv.rows[4][15].find("not implemented"), std::string::npos);
}

TEST(BenchCommand, ModelRejectsAnInputSizeThatIsNotAMultipleOf32) {
  const auto r = bench({"model", "--imgsz", "100"});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_EQ(check_error_line(r, {"--imgsz", "100"}, /*only_line=*/false), "") << r.describe();
}

TEST(BenchCommand, BatchingRejectsAZeroStreamCount) {
  const auto r = bench({"batching", "--streams", "0,2"});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_EQ(check_error_line(r, {"--streams", "0"}, /*only_line=*/false), "") << r.describe();
}

TEST(BenchCommand, InvalidValueIsOneLineAndExits2) {
  const auto r = bench({"postprocess", "--batch", "0"});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_EQ(check_error_line(r, {"--batch", "0"}, /*only_line=*/false), "") << r.describe();
}

TEST(BenchCommand, UnknownExperimentExits2) {
  const auto r = bench({"no-such-experiment"});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_EQ(check_error_line(r, {"no-such-experiment"}), "") << r.describe();
}

TEST(BenchCommand, UnknownModelIsNamed) {
  TempDir dir("streaminfer_bench");
  const auto r = bench({"postprocess", "--reps", "1", "--naive-reps", "1", "--model", "yolov99",
                        "--output-dir", dir.path().string()});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_EQ(check_error_line(r, {"yolov99"}, /*only_line=*/false), "") << r.describe();
}

}  // namespace
}  // namespace streaminfer::test
