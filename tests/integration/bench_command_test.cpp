// `streaminfer bench` end to end: each experiment's table and CSV files, and bad input.
#include <gtest/gtest.h>

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

TEST(BenchCommand, BatchingRejectsAZeroStreamCount) {
  const auto r = bench({"batching", "--streams", "0,2"});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_EQ(check_error_line(r, {"--streams", "0"}, /*only_line=*/false), "") << r.describe();
}

TEST(BenchCommand, IdleGapPrintsTheTableAndWritesBothCsvFiles) {
  TempDir dir("streaminfer_bench");
  const auto r =
      bench({"idle-gap", "--imgsz", "64", "--iterations", "20", "--gaps", "0,5", "--threads", "1",
             "--warmup", "1", "--keep-warm", "--output-dir", (dir / "out").string()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.out.find("logical cores:"), std::string::npos) << "no system block\n" << r.describe();
  EXPECT_TRUE(has_line_with_all(r.out, {"bench idle-gap: yolov8n at 64x64", "20 iterations"}))
      << r.describe();
  EXPECT_TRUE(has_line_with_all(r.out, {"cpu clock:"})) << r.describe();
  EXPECT_TRUE(has_line_with_all(r.out, {"gap ms", "variant", "p50 ms", "p99 ms", "steps"}))
      << r.describe();
  // Each variant at gap 0 is its own baseline.
  for (const char* variant : {"sleep", "busy", "keep-warm"}) {
    EXPECT_TRUE(has_line_with_all(r.out, {variant, "1.00x"})) << variant << "\n" << r.describe();
  }
  EXPECT_TRUE(has_line_with_all(r.out, {"steps: change points of at least 15%"})) << r.describe();
  EXPECT_TRUE(has_line_with_all(r.out, {"CUDA graphs", "skipped"})) << r.describe();

  const auto summary = read_csv(dir / "out" / "idle_gap_summary.csv");
  EXPECT_EQ(summary.header, "variant,gap_ms,iterations,p50_ms,p99_ms,mean_ms,steps");
  // Gap by gap, each variant in turn.
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"sleep", "0"}, {"busy", "0"}, {"keep-warm", "0"},
      {"sleep", "5"}, {"busy", "5"}, {"keep-warm", "5"}};
  ASSERT_EQ(summary.rows.size(), expected.size()) << r.describe();
  for (size_t i = 0; i < expected.size(); ++i) {
    const auto& row = summary.rows[i];
    ASSERT_EQ(row.size(), 7u);
    EXPECT_EQ(row[0], expected[i].first) << "row " << i;
    EXPECT_EQ(row[1], expected[i].second) << "row " << i;
    EXPECT_EQ(row[2], "20");
    EXPECT_GT(std::stod(row[3]), 0.0);
    EXPECT_GE(std::stod(row[4]), std::stod(row[3]));  // p99 >= p50
    EXPECT_GE(std::stoi(row[6]), 0);
  }

  const auto iterations = read_csv(dir / "out" / "idle_gap_iterations.csv");
  EXPECT_EQ(iterations.header, "variant,gap_ms,iteration,latency_ms,cpu_mhz,gpu_sm_mhz,gpu_pstate");
  ASSERT_EQ(iterations.rows.size(), 6u * 20u);
  for (size_t i = 0; i < iterations.rows.size(); ++i) {
    const auto& row = iterations.rows[i];
    ASSERT_EQ(row.size(), 7u) << "row " << i;
    EXPECT_EQ(row[0], expected[i / 20].first) << "row " << i;
    EXPECT_EQ(row[1], expected[i / 20].second) << "row " << i;
    EXPECT_EQ(row[2], std::to_string(i % 20)) << "row " << i;
    EXPECT_GT(std::stod(row[3]), 0.0) << "row " << i;
    // The clock is a reading or an empty cell (unknown), never a made-up number.
    if (!row[4].empty()) {
      EXPECT_GT(std::stod(row[4]), 0.0) << "row " << i;
    }
  }
}

TEST(BenchCommand, IdleGapRejectsANegativeGap) {
  const auto r = bench({"idle-gap", "--gaps", "0,-5"});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_EQ(check_error_line(r, {"--gaps", "-5"}, /*only_line=*/false), "") << r.describe();
}

TEST(BenchCommand, IdleGapRejectsAnUnknownPacing) {
  const auto r = bench({"idle-gap", "--pacing", "sometimes"});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_EQ(check_error_line(r, {"--pacing", "sometimes"}, /*only_line=*/false), "")
      << r.describe();
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
