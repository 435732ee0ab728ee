// `run --mode retrain` end to end: one fine-tuning step per batch on the synthetic cameras'
// ground truth (or generated labels on a file, said so), the loss and the forward / backward /
// optimizer stages in the metrics CSV, the summary (text and JSON) and the trace, and a result
// for every frame from the training forward.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <string>
#include <vector>

#include "run_command.h"

namespace streaminfer::test {
namespace {
namespace fs = std::filesystem;

constexpr int kRetrainFrames = 6;

std::vector<std::string> retrain_run(const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {
      streaminfer_bin(), "run",          "--mode", "retrain", "--threads", "2",
      "--no-progress",   "--batch-size", "2",      "--pace",  "max"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

bool is_number(const std::string& cell) {
  char* end = nullptr;
  std::strtod(cell.c_str(), &end);
  return !cell.empty() && *end == '\0';
}

TEST(RetrainRun, SyntheticGroundTruthTrainsAndEveryStageIsReported) {
  TempDir dir("streaminfer_retrain");
  const fs::path jsonl = dir / "out.jsonl", trace = dir / "trace.json";
  const auto result = run_command(
      retrain_run({"--imgsz", "160", "--weights", STREAMINFER_TEST_MODELS "/yolov8n-shapes-320.pt",
                   "--source", synthetic_uri(160, 120, kRetrainFrames), "--output", jsonl.string(),
                   "--metrics-dir", (dir / "metrics").string(), "--trace", trace.string()}));
  ASSERT_EQ(result.exit_code, 0) << result.describe();
  EXPECT_TRUE(has_line_with_all(result.out, {"retrain:", "backbone", "frozen", "trained"}))
      << result.out;
  EXPECT_TRUE(has_line_with_all(result.out, {"optimizer step(s)", "first 10%", "last 10%"}))
      << result.out;
  for (const char* stage : {"forward", "backward", "optimizer"}) {
    EXPECT_TRUE(has_line_with_all(result.out, {stage})) << result.out;
  }
  EXPECT_EQ(result.out.find("generated labels"), std::string::npos) << "synthetic: ground truth";

  const JsonlFile detections = parse_jsonl(jsonl);
  EXPECT_TRUE(detections.errors.empty()) << detections.errors.front();
  EXPECT_EQ(check_frame_indices(detections, 0, kRetrainFrames), "");

  const CsvFile csv = read_csv(only_file_with_prefix(dir / "metrics", "M_"));
  ASSERT_EQ(csv.columns.size(), 16u) << csv.header;
  ASSERT_EQ(csv.columns[7], "loss");
  ASSERT_EQ(csv.rows.size(), static_cast<size_t>(kRetrainFrames / 2));
  for (const auto& row : csv.rows) {
    ASSERT_EQ(row.size(), csv.columns.size());
    for (size_t c : {7u, 10u, 11u, 12u, 13u, 14u, 15u}) {
      EXPECT_TRUE(is_number(row[c])) << csv.columns[c] << " = \"" << row[c] << "\"";
    }
    EXPECT_GT(std::stod(row[7]), 0) << "loss";
    EXPECT_GT(std::stod(row[13]), 0) << "forward_ms";
    EXPECT_GT(std::stod(row[14]), 0) << "backward_ms";
    // The three stages are inside the step, which is the batch's exec time.
    EXPECT_LE(std::stod(row[13]) + std::stod(row[14]) + std::stod(row[15]),
              std::stod(row[3]) + 0.01);
  }

  const auto summary = nlohmann::json::parse(
      read_file(only_file_with_prefix(dir / "metrics", "S_")), nullptr, false);
  ASSERT_TRUE(summary.contains("retrain")) << summary.dump();
  EXPECT_EQ(summary["retrain"]["steps"], csv.rows.size());
  EXPECT_GT(summary["retrain"]["optimizer"]["count"].get<int>(), 0);
  EXPECT_TRUE(summary["retrain"]["generated_label_streams"].empty());

  const std::string timeline = read_file(trace);
  for (const char* slice : {"forward batch 0", "backward batch 0", "optimizer batch 0"}) {
    EXPECT_NE(timeline.find(slice), std::string::npos) << slice;
  }
  EXPECT_EQ(timeline.find("inference batch"), std::string::npos);
}

TEST(RetrainRun, AFileSourceTrainsOnGeneratedLabelsAndSaysSo) {
  TempDir dir("streaminfer_retrain_file");
  const fs::path clip = dir / "clip.mp4";
  ASSERT_EQ(make_test_clip(clip, {.seconds = 0.4, .fps = 10, .width = 160, .height = 120}), "");
  const auto result = run_command(retrain_run(
      {"--imgsz", "160", "--source", clip.string(), "--output", (dir / "o.jsonl").string()}));
  ASSERT_EQ(result.exit_code, 0) << result.describe();
  const std::string line = "stream 0: generated labels (profiling only: the loss means nothing)";
  // Once in the start-up block, once in the summary.
  const auto first = result.out.find(line);
  ASSERT_NE(first, std::string::npos) << result.out;
  EXPECT_NE(result.out.find(line, first + 1), std::string::npos) << result.out;
  EXPECT_EQ(check_frame_indices(parse_jsonl(dir / "o.jsonl"), 0, -1), "");
}

// A classifier trains its head only, on the class of each frame's largest object: a loss without
// box / cls / dfl parts, and each frame still gets its top classes.
TEST(RetrainRun, AClassifierTrainsItsHeadWithCrossEntropy) {
  TempDir dir("streaminfer_retrain_classifier");
  const auto result = run_command(
      retrain_run({"--model", "resnet18", "--imgsz", "64", "--source", synthetic_uri(160, 120, 4),
                   "--output", (dir / "o.jsonl").string(), "--metrics-dir", (dir / "m").string(),
                   "--retrain-save", (dir / "tuned.pt").string()}));
  ASSERT_EQ(result.exit_code, 0) << result.describe();
  EXPECT_TRUE(has_line_with_all(result.out, {"wrote", "tuned.pt", "fine-tuned weights"}))
      << result.out;
  EXPECT_TRUE(has_line_with_all(result.out, {"retrain:", "classification head", "cross-entropy"}))
      << result.out;
  const CsvFile csv = read_csv(only_file_with_prefix(dir / "m", "M_"));
  ASSERT_EQ(csv.rows.size(), 2u);
  for (const auto& row : csv.rows) {
    ASSERT_EQ(row.size(), 16u);
    EXPECT_TRUE(is_number(row[7])) << "loss \"" << row[7] << "\"";
    for (size_t c : {10u, 11u, 12u}) EXPECT_EQ(row[c], "") << csv.columns[c];
    for (size_t c : {13u, 14u, 15u}) EXPECT_TRUE(is_number(row[c])) << csv.columns[c];
  }
  const auto lines = non_empty_lines(read_file(dir / "o.jsonl"));
  ASSERT_EQ(lines.size(), 4u);
  for (const auto& line : lines) EXPECT_NE(line.find("\"classes\""), std::string::npos) << line;

  // The fine-tuned weights load back into the same architecture.
  const auto reload =
      run_command({streaminfer_bin(), "run", "--model", "resnet18", "--imgsz", "64", "--weights",
                   (dir / "tuned.pt").string(), "--source", synthetic_uri(160, 120, 2),
                   "--micro-batch", "1", "--warmup", "0", "--no-progress"});
  EXPECT_EQ(reload.exit_code, 0) << reload.describe();
  EXPECT_TRUE(has_line_with_all(reload.out, {"weights from", "tuned.pt"})) << reload.out;
}

TEST(RetrainRun, ATorchScriptModelOrAnUnknownModeIsRefusedInOneLine) {
  const auto torchscript = run_command(retrain_run({"--model", "some.torchscript"}));
  EXPECT_EQ(torchscript.exit_code, 2) << torchscript.describe();
  EXPECT_EQ(check_error_line(torchscript, {"--mode retrain", "some.torchscript", "built-in"}), "");

  // The YAML key takes the same route.
  TempDir dir("streaminfer_retrain_yaml");
  write_file(dir / "job.yaml",
             "source: ['synthetic:?frames=2']\nmode: retrain\nretrain_lr: 0.01\nmodel: "
             "some.torchscript\n");
  const auto yaml =
      run_command({streaminfer_bin(), "run", "--config", (dir / "job.yaml").string()});
  EXPECT_EQ(yaml.exit_code, 2) << yaml.describe();
  EXPECT_EQ(check_error_line(yaml, {"--mode retrain", "some.torchscript"}), "");

  const auto save_without_retrain =
      run_command({streaminfer_bin(), "run", "--retrain-save", "x.pt"});
  EXPECT_EQ(save_without_retrain.exit_code, 2) << save_without_retrain.describe();
  EXPECT_EQ(check_error_line(save_without_retrain, {"--retrain-save x.pt", "--mode retrain"}), "");

  const auto bad_mode = run_command({streaminfer_bin(), "run", "--mode", "fly"});
  EXPECT_EQ(bad_mode.exit_code, 2) << bad_mode.describe();
  EXPECT_EQ(check_error_line(bad_mode, {"--mode fly", "infer", "retrain"}), "");
}

}  // namespace
}  // namespace streaminfer::test
