// `streaminfer bench` end to end: each experiment's table and CSV files, and bad input.
#include <gtest/gtest.h>

#include <array>

#include <cstdlib>
#include <sstream>

#include "run_command.h"

namespace streaminfer::test {
namespace {

namespace fs = std::filesystem;

CommandResult bench(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {streaminfer_bin(), "bench"};
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
  // OpenCV's NMSBoxes row exists only in builds that found OpenCV; otherwise the run says why.
  const bool with_opencv = r.out.find("not run: OpenCV reference") == std::string::npos;
  std::vector<std::string> ids = {"naive", "reference", "vectorized"};
  if (with_opencv) ids.insert(ids.begin() + 2, "opencv");
  EXPECT_TRUE(with_opencv || has_line_with_all(r.out, {"not run: OpenCV", "libopencv-dev"}));
  ASSERT_EQ(summary.rows.size(), ids.size()) << r.describe();
  for (size_t i = 0; i < ids.size(); ++i) {
    ASSERT_EQ(summary.rows[i].size(), 7u);
    EXPECT_EQ(summary.rows[i][0], ids[i]);
    EXPECT_GT(std::stod(summary.rows[i][1]), 0.0);
    EXPECT_GT(std::stoi(summary.rows[i][5]), 0);
    EXPECT_EQ(summary.rows[i][6], "1");
  }
  EXPECT_EQ(summary.rows[0][4], "1.00");
  EXPECT_TRUE(fs::exists(dir / "out" / "postprocess.html")) << r.describe();
  const auto runs = read_csv(dir / "out" / "postprocess_runs.csv");
  EXPECT_EQ(runs.header, "version,rep,batch,ms_per_frame");
  EXPECT_EQ(runs.rows.size(), 1u + 5u * (ids.size() - 1));
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

  // The plot: Chromium draws all three charts (FPS per camera, aggregate FPS, p99 latency).
  const auto html = dir / "out" / "batching.html";
  ASSERT_TRUE(fs::exists(html)) << r.describe();
  if (!fs::exists(kChromium)) GTEST_SKIP() << kChromium << " is not installed";
  TempDir profile("streaminfer_chromium");
  const auto dom = chromium(profile, {"--dump-dom", "file://" + html.string()});
  ASSERT_EQ(dom.exit_code, 0) << dom.describe();
  const ChartsReady ready = charts_ready(dom.out);
  ASSERT_TRUE(ready.found) << dom.out.substr(0, 2000);
  EXPECT_EQ(ready.charts, 3);
  EXPECT_EQ(ready.inked, 3) << "charts whose canvas stayed empty";
  EXPECT_NE(dom.out.find("2 cameras: sequential"), std::string::npos) << "table missing";
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
  for (const char* step : {"eager fp32", "+ fused BatchNorm", "+ channels-last",
                           "oneDNN plan, channels-last", "oneDNN plan, blocked"}) {
    EXPECT_TRUE(has_line_with_all(r.out, {step, "x"})) << step << "\n" << r.describe();
  }
  EXPECT_TRUE(has_line_with_all(r.out, {"+ bf16"})) << r.describe();
  EXPECT_TRUE(has_line_with_all(r.out, {"int8 (fused BN)"})) << r.describe();
  EXPECT_TRUE(has_line_with_all(r.out, {"oneDNN for the int8 rows", "oneDNN ISA: "}))
      << r.describe();

  const auto csv = read_csv(dir / "out" / "model_speed.csv");
  EXPECT_EQ(csv.header,
            "step,available,batch,imgsz,threads,reps,p50_ms,mean_ms,min_ms,images_per_s,"
            "gain_vs_previous,gain_vs_eager,max_score_diff,max_box_diff_px,map50,map50_95,onednn,"
            "note");
  ASSERT_EQ(csv.rows.size(), 8u) << r.describe();
  const std::vector<std::string> ids = {"eager",          "fused_bn",
                                        "channels_last",  "onednn_nhwc",
                                        "onednn_blocked", "onednn_blocked_direct",
                                        "bf16",           "int8"};
  for (size_t i = 0; i < ids.size(); ++i) {
    ASSERT_EQ(csv.rows[i].size(), 18u) << "row " << i;
    EXPECT_EQ(csv.rows[i][0], ids[i]);
    EXPECT_EQ(csv.rows[i][2], "2");
    EXPECT_EQ(csv.rows[i][3], "64");
  }
  for (size_t i = 0; i < 6; ++i) {  // float32 steps always run (the oneDNN plans: a YOLOv8)
    // ... unless the build has no oneDNN headers, which the plans' rows say.
    if (i >= 3 && csv.rows[i][1] == "0" && csv.rows[i][17].find("not built") != std::string::npos)
      continue;
    EXPECT_EQ(csv.rows[i][1], "1") << ids[i];
    EXPECT_EQ(csv.rows[i][5], "2") << ids[i];
    EXPECT_GT(std::stod(csv.rows[i][6]), 0.0) << ids[i];
    EXPECT_GT(std::stod(csv.rows[i][9]), 0.0) << ids[i];
    EXPECT_LT(std::stod(csv.rows[i][12]), 1e-3) << ids[i];  // same output as eager
  }
  EXPECT_EQ(csv.rows[0][11], "1.000");  // eager against itself
  if (csv.rows[6][1] == "0") {
    EXPECT_NE(csv.rows[6][17].find("unavailable: "), std::string::npos);
  }
  if (csv.rows[7][1] == "1") {  // int8 ran: a timing, and no accuracy for random weights
    EXPECT_GT(std::stod(csv.rows[7][6]), 0.0);
    EXPECT_EQ(csv.rows[7][14], "");
  } else {
    EXPECT_NE(csv.rows[7][17].find("unavailable: "), std::string::npos);
  }
  EXPECT_TRUE(fs::exists(dir / "out" / "model.html")) << r.describe();
}

// --steps runs the named steps only, in table order; without eager the table says what the
// differences are against; an unknown step is refused with the list.
TEST(BenchCommand, ModelStepsRunsOnlyTheNamedSteps) {
  TempDir dir("streaminfer_bench");
  ::setenv("XDG_CACHE_HOME", dir.path().c_str(), 1);
  const auto r =
      bench({"model", "--imgsz", "64", "--batch", "1", "--reps", "2", "--warmup", "0", "--threads",
             "1", "--steps", "channels_last,fused_bn", "--output-dir", (dir / "out").string()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_TRUE(has_line_with_all(r.out, {"--steps without eager", "+ fused BatchNorm"}))
      << r.describe();
  const auto csv = read_csv(dir / "out" / "model_speed.csv");
  ASSERT_EQ(csv.rows.size(), 2u) << r.describe();
  EXPECT_EQ(csv.rows[0][0], "fused_bn");
  EXPECT_EQ(csv.rows[1][0], "channels_last");
  EXPECT_EQ(csv.rows[1][1], "1");

  const auto unknown = bench({"model", "--steps", "fused_bn,fastest"});
  EXPECT_EQ(unknown.exit_code, 2) << unknown.describe();
  EXPECT_EQ(check_error_line(unknown, {"--steps fastest", "onednn_blocked"}, /*only_line=*/false),
            "")
      << unknown.describe();
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

  // The plot: latency against the gap, then every iteration of each of the 3 variants.
  const auto html = dir / "out" / "idle_gap.html";
  ASSERT_TRUE(fs::exists(html)) << r.describe();
  if (fs::exists(kChromium)) {
    TempDir profile("streaminfer_chromium");
    const auto dom = chromium(profile, {"--dump-dom", "file://" + html.string()});
    ASSERT_EQ(dom.exit_code, 0) << dom.describe();
    const ChartsReady ready = charts_ready(dom.out);
    EXPECT_EQ(ready.charts, 4) << dom.out.substr(0, 2000);
    EXPECT_EQ(ready.inked, 4) << "charts whose canvas stayed empty";
  }

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

namespace streaminfer::test {
namespace {

TEST(BenchCommand, FramesWritesItsClipAndComparesSerialWithPipelined) {
  TempDir dir("streaminfer_bench");
  const auto out = dir / "out";
  const auto r =
      bench({"frames", "--clip-width", "160", "--clip-height", "96",        "--clip-frames",
             "20",     "--frames",     "6",   "--batch-sizes", "4,1",       "--imgsz",
             "64",     "--threads",    "1",   "--warmup",      "0",         "--isolated-reps",
             "1",      "--rounds",     "2",   "--output-dir",  out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.out.find("logical cores:"), std::string::npos) << "no system block\n" << r.describe();
  EXPECT_TRUE(fs::exists(out / "synthetic_160x96_30fps_20.mp4")) << r.describe();
  EXPECT_TRUE(fs::exists(out / "frames.html")) << r.describe();
  EXPECT_TRUE(has_line_with_all(r.out, {"batch  4: pipelined", "of the model alone",
                                        "median of 2 rounds", "the serial loop", "frame by frame"}))
      << r.describe();

  const auto csv = read_csv(out / "frames.csv");
  EXPECT_EQ(csv.header,
            "batch,mode,frames,wall_s,fps,p50_ms,p99_ms,isolated_fps,share_of_isolated,"
            "inference_busy,round");
  // Each batch size's rounds in turn, serial then pipelined in each.
  const std::vector<std::array<std::string, 3>> expected = {
      {"1", "serial", "0"}, {"1", "pipelined", "0"}, {"1", "serial", "1"}, {"1", "pipelined", "1"},
      {"4", "serial", "0"}, {"4", "pipelined", "0"}, {"4", "serial", "1"}, {"4", "pipelined", "1"}};
  ASSERT_EQ(csv.rows.size(), expected.size()) << r.describe();
  for (size_t i = 0; i < expected.size(); ++i) {
    ASSERT_EQ(csv.rows[i].size(), 11u);
    EXPECT_EQ(csv.rows[i][0], expected[i][0]);
    EXPECT_EQ(csv.rows[i][1], expected[i][1]);
    EXPECT_EQ(csv.rows[i][10], expected[i][2]);
    EXPECT_EQ(csv.rows[i][2], "6") << "every requested frame gets a result";
    EXPECT_GT(std::stod(csv.rows[i][4]), 0.0);
    EXPECT_GE(std::stod(csv.rows[i][6]), std::stod(csv.rows[i][5]));  // p99 >= p50
    EXPECT_GT(std::stod(csv.rows[i][7]), 0.0);
    const double busy = std::stod(csv.rows[i][9]);
    EXPECT_GT(busy, 0.0);
    EXPECT_LE(busy, 1.0);
  }
}

TEST(BenchCommand, FramesReadsAGivenVideoToItsEnd) {
  TempDir dir("streaminfer_bench");
  const auto clip = dir / "clip.mkv";
  ClipSpec spec;
  spec.seconds = 1;
  spec.width = 160;
  spec.height = 96;
  ASSERT_EQ(make_test_clip(clip, spec), "");
  // More frames asked than the clip has: each run stops at its end with every frame done.
  const auto r = bench({"frames", "--source", clip.string(), "--frames", "100", "--batch-sizes",
                        "16", "--imgsz", "64", "--threads", "1", "--warmup", "0", "--isolated-reps",
                        "1", "--output-dir", (dir / "out").string()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto csv = read_csv(dir / "out" / "frames.csv");
  ASSERT_EQ(csv.rows.size(), 2u) << r.describe();
  for (const auto& row : csv.rows) EXPECT_EQ(row[2], "25") << row[1];
}

TEST(BenchCommand, FramesRejectsAMissingVideoAndABadBatchSize) {
  auto r = bench({"frames", "--source", "/nonexistent/video.mp4"});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find("/nonexistent/video.mp4"), std::string::npos) << r.describe();
  r = bench({"frames", "--batch-sizes", "0"});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find("--batch-sizes"), std::string::npos) << r.describe();
}

}  // namespace
}  // namespace streaminfer::test

namespace streaminfer::test {
namespace {

TEST(BenchCommand, PlacementRunsEachThreadCountUnboundAndBound) {
  TempDir dir("streaminfer_bench");
  const auto out = dir / "out";
  const auto r = bench({"placement", "--threads", "1", "--cameras", "2", "--batch", "2", "--frames",
                        "2", "--imgsz", "64", "--width", "160", "--height", "96", "--warmup", "0",
                        "--output-dir", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.out.find("logical cores:"), std::string::npos) << "no system block\n" << r.describe();
  EXPECT_TRUE(has_line_with_all(r.out, {"fastest:", "thread(s)", "FPS"})) << r.describe();
  // No CUDA backend in this build: the table says what it did not measure.
  EXPECT_TRUE(has_line_with_all(r.out, {"not measured:", "GPU"})) << r.describe();
  EXPECT_TRUE(fs::exists(out / "placement.html")) << r.describe();

  const auto csv = read_csv(out / "placement.csv");
  EXPECT_EQ(csv.header,
            "preprocess,model,threads,cores,frames,wall_s,fps,inference_p50_ms,"
            "preprocess_p50_ms,e2e_p50_ms,e2e_p99_ms,inference_busy");
  ASSERT_EQ(csv.rows.size(), 2u) << r.describe();
  EXPECT_EQ(csv.rows[0][3], "unbound");
  EXPECT_EQ(csv.rows[1][3], "0") << "one thread bound to the first usable core";
  for (const auto& row : csv.rows) {
    ASSERT_EQ(row.size(), 12u);
    EXPECT_EQ(row[0], "cpu");
    EXPECT_EQ(row[1], "cpu");
    EXPECT_EQ(row[2], "1");
    EXPECT_EQ(row[4], "4") << "2 cameras x 2 frames";
    EXPECT_GT(std::stod(row[6]), 0.0);
    EXPECT_GT(std::stod(row[7]), 0.0);
  }
}

TEST(BenchCommand, PlacementRejectsZeroThreads) {
  const auto r = bench({"placement", "--threads", "0"});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find("--threads"), std::string::npos) << r.describe();
}

}  // namespace
}  // namespace streaminfer::test

namespace streaminfer::test {
namespace {

TEST(BenchCommand, DecodeCountsEveryFrameOfEveryStreamAndGivesTheCeiling) {
  TempDir dir("streaminfer_bench");
  const auto out = dir / "out";
  const auto r = bench({"decode", "--clip-width", "160", "--clip-height", "96", "--streams", "1,3",
                        "--decode-threads", "1", "--frames", "10", "--output-dir", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_TRUE(has_line_with_all(r.out, {"decode ceiling: about", "30 fps streams"}))
      << r.describe();
  EXPECT_TRUE(fs::exists(out / "decode.html")) << r.describe();
  const auto csv = read_csv(out / "decode.csv");
  EXPECT_EQ(csv.header,
            "streams,decode_threads,frames,wall_s,aggregate_fps,per_stream_fps,keeps_up");
  ASSERT_EQ(csv.rows.size(), 2u) << r.describe();
  EXPECT_EQ(csv.rows[0][0], "1");
  EXPECT_EQ(csv.rows[0][2], "10");
  EXPECT_EQ(csv.rows[1][0], "3");
  EXPECT_EQ(csv.rows[1][2], "30") << "10 frames from each of 3 streams";
  for (const auto& row : csv.rows) EXPECT_GT(std::stod(row[4]), 0.0);
}

TEST(BenchCommand, DecodeNamesAMissingVideo) {
  const auto r = bench({"decode", "--source", "/nonexistent/clip.mp4"});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_NE(r.err.find("/nonexistent/clip.mp4"), std::string::npos) << r.describe();
}

}  // namespace
}  // namespace streaminfer::test

namespace streaminfer::test {
namespace {

// Whether any process still runs a busy loop this bench started (a child of `pid` that is not
// `streaminfer run`): the bench must end every one.
int leftover_children(pid_t pid) {
  int count = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string stat = read_file(entry.path() / "stat");
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    // Fields after the command: state, then the parent's pid.
    std::istringstream rest(stat.substr(close + 2));
    char state = 0;
    long parent = 0;
    rest >> state >> parent;
    if (parent == pid && state != 'Z') ++count;
  }
  return count;
}

TEST(BenchCommand, ContentionRunsTheJobAloneAndBesideBusyProcessesForEachWaitPolicy) {
  TempDir dir("streaminfer_bench");
  const fs::path out = dir / "out";
  const auto r = bench({"contention", "--busy", "0,1", "--output-dir", out.string(), "--source",
                        synthetic_uri(160, 120, 6), "--imgsz", "64", "--threads", "2", "--warmup",
                        "0", "--micro-batch", "1", "--model", "yolov8n"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(leftover_children(r.pid), 0) << "a busy process outlived the bench";
  for (const char* variant :
       {"libgomp default (spin)", "sleep at once (passive)", "streaminfer's choice"}) {
    for (const char* busy : {" 0 ", " 1 "}) {
      EXPECT_TRUE(has_line_with_all(r.out, {variant, busy, "x"})) << variant << r.describe();
    }
  }
  const auto csv = read_csv(out / "contention.csv");
  EXPECT_EQ(csv.header, "variant,env,busy,fps,frames,dropped,inference_p50_ms");
  ASSERT_EQ(csv.rows.size(), 6u);
  // Every run read its summary: frames processed, 1 to the job's 6 (under ctest's parallel
  // load one run once processed 4 of 6 at max pace; not explained yet).
  for (const auto& row : csv.rows) {
    const int frames = std::stoi(row[4]);
    EXPECT_TRUE(frames >= 1 && frames <= 6) << row[4];
  }
  EXPECT_EQ(csv.rows[0][1], "GOMP_SPINCOUNT=300000");
  EXPECT_EQ(csv.rows[1][1], "OMP_WAIT_POLICY=passive");
  // The job that streaminfer configures itself says so in its system block.
  const std::string run_log = read_file(out / "runs" / "v2_busy0_round0" / "run.log");
  EXPECT_TRUE(
      has_line_with_all(run_log, {"openmp waiting:", "GOMP_SPINCOUNT=1000", "set by streaminfer"}))
      << run_log;
  EXPECT_TRUE(fs::exists(out / "contention.html"));
}

}  // namespace
}  // namespace streaminfer::test
