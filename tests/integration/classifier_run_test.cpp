// Built-in classifiers end to end: `run --model resnet18` writes each frame's top-5 classes
// (softmax scores, best first) to the JSONL instead of detections, the metrics CSV and summary
// keep working, and weights from PyTorch load with --weights (or are refused, in one line, when
// they belong to another architecture).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "run_command.h"

namespace streaminfer::test {
namespace {
namespace fs = std::filesystem;

constexpr int kClassifierFrames = 4;

// The fast flags of streaminfer_run() without its --imgsz 320: a classifier's own size is tested.
std::vector<std::string> classifier_run(const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {streaminfer_bin(),
                                   "run",
                                   "--threads",
                                   "2",
                                   "--warmup",
                                   "0",
                                   "--micro-batch",
                                   "2",
                                   "--no-progress",
                                   "--batch-size",
                                   "2",
                                   "--pace",
                                   "max",
                                   "--source",
                                   synthetic_uri(160, 120, kClassifierFrames)};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

// Empty when every line of `path` has 5 classes with ids below 1000, labels class_N, scores in
// [0, 1] and descending that sum to at most 1, no detections, and frames 0..kClassifierFrames-1.
std::string check_classes(const fs::path& path) {
  std::vector<std::string> problems;
  std::set<int64_t> frames;
  for (const auto& line : read_lines(path)) {
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("classes") || !j["classes"].is_array()) {
      problems.push_back("no \"classes\" array: " + line);
      continue;
    }
    if (j.contains("detections")) problems.push_back("detections in a classifier's line: " + line);
    frames.insert(j.value("frame", int64_t{-1}));
    const auto& classes = j["classes"];
    if (classes.size() != 5)
      problems.push_back(fmt::format("{} classes: {}", classes.size(), line));
    double sum = 0, previous = 1.0;
    for (const auto& c : classes) {
      const int id = c.value("class_id", -1);
      const double score = c.value("score", -1.0);
      if (id < 0 || id >= 1000 || c.value("label", std::string()) != fmt::format("class_{}", id))
        problems.push_back("bad class id or label: " + c.dump());
      if (score < 0 || score > previous + 1e-9)
        problems.push_back("score out of range or order: " + line);
      previous = score;
      sum += score;
    }
    if (sum > 1.0 + 5 * 1e-4) problems.push_back(fmt::format("scores sum to {}: {}", sum, line));
  }
  if (frames.size() != kClassifierFrames || *frames.begin() != 0 ||
      *frames.rbegin() != kClassifierFrames - 1)
    problems.push_back(fmt::format("frames {} of 0..{}", frames.size(), kClassifierFrames - 1));
  if (problems.empty()) return {};
  return fmt::format("{} problems, first: {}", problems.size(), problems.front());
}

TEST(ClassifierRun, ResNet18WritesTopFiveClassesPerFrame) {
  TempDir dir;
  const fs::path jsonl = dir / "classes.jsonl";
  const fs::path metrics = dir / "metrics";
  CommandResult r = run_command(classifier_run(
      {"--model", "resnet18", "--output", jsonl.string(), "--metrics-dir", metrics.string()}));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_TRUE(has_line_with_all(r.out, {"model: resnet18", "classifier", "input 224x224"}))
      << r.describe();
  EXPECT_TRUE(has_line_with_all(r.out, {"FPS"})) << r.describe();
  EXPECT_EQ(check_classes(jsonl), "");
  // The per-batch CSV accounts for every frame.
  const CsvFile csv = read_csv(only_file_with_prefix(metrics, "M_resnet18_"));
  size_t batch_column = csv.columns.size();
  for (size_t i = 0; i < csv.columns.size(); ++i)
    if (csv.columns[i] == "batch_size") batch_column = i;
  ASSERT_LT(batch_column, csv.columns.size()) << csv.header;
  int frames = 0;
  for (const auto& row : csv.rows) frames += std::stoi(row.at(batch_column));
  EXPECT_EQ(frames, kClassifierFrames);
}

TEST(ClassifierRun, WeightsFromPyTorchLoadAndAnotherArchitecturesAreRefused) {
  if (!python_has_torch(STREAMINFER_TEST_PYTHON)) {
    GTEST_SKIP() << STREAMINFER_TEST_PYTHON << " cannot import torch";
  }
  TempDir dir;
  const fs::path model = dir / "resnet18.torchscript";
  CommandResult script =
      run_command({STREAMINFER_TEST_PYTHON,
                   std::string(STREAMINFER_TEST_SCRIPTS) + "/make_resnet18_torchscript.py", "--nc",
                   "1000", "--size", "32", "--batch", "1", "--out", model.string(), "--expected",
                   (dir / "expected.txt").string()},
                  std::chrono::seconds(300));
  ASSERT_EQ(script.exit_code, 0) << script.describe();

  const fs::path jsonl = dir / "classes.jsonl";
  CommandResult loaded = run_command(classifier_run(
      {"--model", "resnet18", "--weights", model.string(), "--output", jsonl.string()}));
  ASSERT_EQ(loaded.exit_code, 0) << loaded.describe();
  EXPECT_TRUE(has_line_with_all(loaded.out, {"model: resnet18", "weights from", model.string()}))
      << loaded.describe();
  EXPECT_EQ(check_classes(jsonl), "");

  CommandResult refused =
      run_command(classifier_run({"--model", "resnet50", "--weights", model.string()}));
  EXPECT_EQ(refused.exit_code, 2) << refused.describe();
  EXPECT_EQ(check_error_line(refused, {"--weights", model.string(), "does not match"}), "");
}

TEST(ClassifierRun, VitRejectsAnotherInputSizeInOneLine) {
  CommandResult r = run_command(classifier_run({"--model", "vit_b_16", "--imgsz", "320"}));
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_EQ(check_error_line(r, {"--imgsz 320", "vit_b_16", "224"}), "");
}

}  // namespace
}  // namespace streaminfer::test
