// End-to-end tests of `streaminfer train`: a tiny training run writes its weights, log and
// checkpoint, resumes from the checkpoint, and the weights load into `run`.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "run_command.h"

namespace streaminfer::test {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> tiny_training(const fs::path& output, int epochs) {
  return {
      streaminfer_bin(),   "train", "--input-size", "64", "--epochs",     std::to_string(epochs),
      "--steps-per-epoch", "2",     "--batch-size", "2",  "--val-images", "2",
      "--warmup-steps",    "2",     "--threads",    "2",  "-o",           output.string()};
}

TEST(TrainCommand, TrainsChecksPointsAndResumes) {
  TempDir dir;
  const fs::path weights = dir / "detector.pt";
  CommandResult first = run_command(tiny_training(weights, 2), std::chrono::seconds(300));
  ASSERT_EQ(first.exit_code, 0) << first.describe();
  EXPECT_NE(first.out.find("epoch 1/2: loss "), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("epoch 2/2: loss "), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("val mAP@0.5 "), std::string::npos) << first.out;
  EXPECT_TRUE(fs::exists(weights));
  EXPECT_TRUE(fs::exists(dir / "detector.pt.ckpt"));
  auto log = non_empty_lines(read_file(dir / "detector.pt.csv"));
  ASSERT_EQ(log.size(), 3u) << read_file(dir / "detector.pt.csv");
  EXPECT_EQ(log[0].rfind("epoch,loss,", 0), 0u);

  // Two more epochs from the checkpoint: the log continues where it stopped.
  std::vector<std::string> resume = tiny_training(weights, 4);
  resume.push_back("--resume");
  CommandResult second = run_command(resume, std::chrono::seconds(300));
  ASSERT_EQ(second.exit_code, 0) << second.describe();
  EXPECT_NE(second.out.find("at epoch 3"), std::string::npos) << second.out;
  EXPECT_EQ(second.out.find("epoch 1/4"), std::string::npos) << second.out;
  EXPECT_NE(second.out.find("epoch 4/4: loss "), std::string::npos) << second.out;
  log = non_empty_lines(read_file(dir / "detector.pt.csv"));
  ASSERT_EQ(log.size(), 5u);
  EXPECT_EQ(log[4].rfind("4,", 0), 0u);

  // The saved weights (float16, 4 classes) are a 4-class yolov8n that `run` loads.
  CommandResult run =
      run_command({streaminfer_bin(), "run", "--model", "yolov8n", "--weights", weights.string(),
                   "--imgsz", "64", "--source", "synthetic:?width=128&height=96&frames=3",
                   "--no-progress", "--warmup", "0"},
                  std::chrono::seconds(120));
  EXPECT_EQ(run.exit_code, 0) << run.describe();
}

TEST(TrainCommand, BadOptionsAndAMissingCheckpointAreOneLineErrors) {
  TempDir dir;
  CommandResult bad = run_command({streaminfer_bin(), "train", "--input-size", "100"});
  EXPECT_EQ(bad.exit_code, 2) << bad.describe();
  EXPECT_NE(bad.err.find("--input-size"), std::string::npos) << bad.err;
  EXPECT_EQ(non_empty_lines(bad.err).size(), 1u) << bad.err;

  std::vector<std::string> resume = tiny_training(dir / "none.pt", 1);
  resume.push_back("--resume");
  CommandResult missing = run_command(resume);
  EXPECT_EQ(missing.exit_code, 1) << missing.describe();
  EXPECT_NE(missing.err.find("no checkpoint"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace streaminfer::test
