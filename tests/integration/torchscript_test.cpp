// TorchScript models: a YOLOv8n written by tests/scripts/make_yolov8_torchscript.py (Ultralytics'
// module tree and parameter names, random weights) gives the same detections whether streaminfer
// runs the TorchScript file itself (--model FILE), loads its parameters by name into the
// built-in architecture (--model yolov8n --weights FILE), or runs the file's parameters on that
// architecture's oneDNN plan (--model FILE --fp32-kernels onednn-nhwc).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "run_command.h"

namespace streaminfer::test {
namespace {
namespace fs = std::filesystem;

constexpr double kBoxTolerance = 0.05;  // source pixels
constexpr double kScoreTolerance = 1e-3;

std::string describe(const Detection& d) {
  return fmt::format("class {} score {:.4f} box [{:.2f}, {:.2f}, {:.2f}, {:.2f}]", d.cls, d.score,
                     d.box[0], d.box[1], d.box[2], d.box[3]);
}

bool same_detection(const Detection& a, const Detection& b) {
  if (a.cls != b.cls || std::abs(a.score - b.score) > kScoreTolerance) return false;
  for (size_t i = 0; i < 4; ++i)
    if (std::abs(a.box[i] - b.box[i]) > kBoxTolerance) return false;
  return true;
}

// Empty when both files have the same frames and, frame by frame, detections that match one to
// one (same class, boxes within kBoxTolerance, scores within kScoreTolerance).
std::string compare_detections(const JsonlFile& a, const JsonlFile& b) {
  using Key = std::pair<int64_t, int64_t>;
  std::map<Key, const FrameResult*> fa, fb;
  for (const auto& f : a.frames) fa[{f.stream, f.frame}] = &f;
  for (const auto& f : b.frames) fb[{f.stream, f.frame}] = &f;
  std::vector<std::string> problems;
  for (const auto& [key, frame] : fa) {
    if (fb.count(key) == 0)
      problems.push_back(fmt::format("frame {} only in the first run", key.second));
  }
  for (const auto& [key, frame] : fb) {
    if (fa.count(key) == 0)
      problems.push_back(fmt::format("frame {} only in the second run", key.second));
  }
  for (const auto& [key, frame_a] : fa) {
    auto it = fb.find(key);
    if (it == fb.end()) continue;
    const auto& da = frame_a->detections;
    const auto& db = it->second->detections;
    std::vector<bool> used(db.size(), false);
    std::vector<std::string> unmatched;
    for (const auto& d : da) {
      bool found = false;
      for (size_t j = 0; j < db.size() && !found; ++j) {
        if (!used[j] && same_detection(d, db[j])) used[j] = found = true;
      }
      if (!found) unmatched.push_back("first run only: " + describe(d));
    }
    for (size_t j = 0; j < db.size(); ++j)
      if (!used[j]) unmatched.push_back("second run only: " + describe(db[j]));
    if (da.size() != db.size() || !unmatched.empty()) {
      std::string text = fmt::format("stream {} frame {}: {} vs {} detections", key.first,
                                     key.second, da.size(), db.size());
      for (size_t i = 0; i < unmatched.size() && i < 6; ++i) text += "\n    " + unmatched[i];
      problems.push_back(std::move(text));
    }
  }
  if (problems.empty()) return {};
  std::string text = fmt::format("{} differences:", problems.size());
  for (size_t i = 0; i < problems.size() && i < 10; ++i) text += "\n  " + problems[i];
  return text;
}

class TorchScriptModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!python_has_torch(STREAMINFER_TEST_PYTHON)) {
      skip_reason_ = std::string(STREAMINFER_TEST_PYTHON) + " cannot import torch";
      return;
    }
    dir_ = std::make_unique<TempDir>("streaminfer_ts");
    model_ = dir_->path() / "yolov8n_320.torchscript";
    CommandResult r = run_command(
        {STREAMINFER_TEST_PYTHON,
         std::string(STREAMINFER_TEST_SCRIPTS) + "/make_yolov8_torchscript.py", "--scale", "n",
         "--nc", "80", "--imgsz", "320", "--seed", "0", "--out", model_.string()},
        std::chrono::seconds(300));
    script_output_ = r.describe();
    script_ok_ = r.exit_code == 0 && fs::exists(model_);
  }
  static void TearDownTestSuite() { dir_.reset(); }

  void SetUp() override {
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
    ASSERT_TRUE(script_ok_) << "make_yolov8_torchscript.py failed:\n" << script_output_;
  }

  static inline std::unique_ptr<TempDir> dir_;
  static inline fs::path model_;
  static inline std::string skip_reason_;
  static inline std::string script_output_;
  static inline bool script_ok_ = false;
};

// int8 covers the built-in architectures only: a TorchScript file runs fp32, said in one line.
TEST_F(TorchScriptModel, Int8FallsBackToFp32WithOneLine) {
  const auto r = run_command(
      streaminfer_run({"--model", model_.string(), "--precision", "int8", "--max-frames", "1",
                       "--source", synthetic_uri(160, 96, 1), "--pace", "max"}));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_TRUE(has_line_with_all(
      r.err, {"streaminfer: warning: --precision int8", "a TorchScript file", "running fp32"}))
      << r.describe();
}

// Under --fp32-kernels auto a TorchScript file's forwards are timed in both layouts at load, and
// so are the oneDNN plans of the built-in YOLOv8 its parameters fit (an Ultralytics export's
// names); the start-up block says what was measured. A plan named runs the file's parameters.
TEST_F(TorchScriptModel, AutoTimesLibTorchAndThePlansOfTheBuiltinItsParametersFit) {
  const auto r = run_command(streaminfer_run({"--model", model_.string(), "--fp32-kernels", "auto",
                                              "--micro-batch", "1", "--max-frames", "1", "--source",
                                              synthetic_uri(160, 96, 1), "--pace", "max"}));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_TRUE(has_line_with_all(r.out, {"fp32 kernels: ", "measured at load", "libtorch ",
                                        "libtorch-nhwc ", "onednn-nhwc ", "onednn-blocked "}))
      << r.describe();

  const auto named =
      run_command(streaminfer_run({"--model", model_.string(), "--fp32-kernels", "onednn-blocked",
                                   "--max-frames", "1", "--source", synthetic_uri(160, 96, 1)}));
  ASSERT_EQ(named.exit_code, 0) << named.describe();
  EXPECT_TRUE(has_line_with_all(named.out, {"fp32 kernels: onednn-blocked (set)"}))
      << named.describe();
  EXPECT_TRUE(has_line_with_all(named.out, {"model: ", "TorchScript",
                                            "onednn-blocked plan (the file's parameters in the "
                                            "built-in yolov8n, 80 classes"}))
      << named.describe();
}

TEST_F(TorchScriptModel, ScriptPrintsTheYolov8nParameterCount) {
  EXPECT_NE(script_output_.find("3157200 parameters"), std::string::npos) << script_output_;
}

TEST_F(TorchScriptModel, FileModelAndBuiltinWithWeightsGiveTheSameDetections) {
  TempDir dir;
  // One stream, batches of one: the two runs see the same frames in the same batches.
  const std::vector<std::string> common = {
      "--source", synthetic_uri(320, 240, 24, 7), "--pace", "max", "--batch-size", "1"};
  auto args = [&](std::vector<std::string> model_flags, const fs::path& out) {
    std::vector<std::string> extra = common;
    extra.insert(extra.end(), model_flags.begin(), model_flags.end());
    extra.push_back("--output");
    extra.push_back(out.string());
    return streaminfer_run(extra);
  };
  const fs::path from_file = dir / "file_model.jsonl";
  const fs::path from_weights = dir / "builtin_weights.jsonl";
  const fs::path from_plan = dir / "file_model_plan.jsonl";
  // The file runs channels-last (its convolutions on NHWC activations), the built-in NCHW: the
  // same detections either way.
  CommandResult a =
      run_command(args({"--model", model_.string(), "--fp32-kernels", "libtorch-nhwc"}, from_file));
  ASSERT_EQ(a.exit_code, 0) << a.describe();
  EXPECT_TRUE(has_line_with_all(a.out, {"fp32 kernels: libtorch-nhwc (set)"})) << a.describe();
  EXPECT_TRUE(has_line_with_all(a.out, {"model: ", "TorchScript", ", channels-last"}))
      << a.describe();
  CommandResult b =
      run_command(args({"--model", "yolov8n", "--weights", model_.string()}, from_weights));
  ASSERT_EQ(b.exit_code, 0) << b.describe();
  EXPECT_EQ(a.out.find("random weights"), std::string::npos)
      << "a TorchScript file's weights are not random\n"
      << a.describe();
  EXPECT_EQ(b.out.find("random weights"), std::string::npos)
      << "--weights loaded the parameters: they are not random\n"
      << b.describe();

  // The file's parameters on the oneDNN plan of the built-in architecture they fit.
  CommandResult c =
      run_command(args({"--model", model_.string(), "--fp32-kernels", "onednn-nhwc"}, from_plan));
  ASSERT_EQ(c.exit_code, 0) << c.describe();
  EXPECT_TRUE(has_line_with_all(c.out, {"model: ", "TorchScript", "onednn-nhwc plan"}))
      << c.describe();

  JsonlFile ja = parse_jsonl(from_file);
  JsonlFile jb = parse_jsonl(from_weights);
  JsonlFile jc = parse_jsonl(from_plan);
  ASSERT_TRUE(jc.errors.empty()) << fmt::format("{}", fmt::join(jc.errors, "\n"));
  EXPECT_EQ(check_frame_indices(jc, 0, 24), "");
  ASSERT_TRUE(ja.errors.empty()) << fmt::format("{}", fmt::join(ja.errors, "\n"));
  ASSERT_TRUE(jb.errors.empty()) << fmt::format("{}", fmt::join(jb.errors, "\n"));
  EXPECT_EQ(check_frame_indices(ja, 0, 24), "");
  EXPECT_EQ(check_frame_indices(jb, 0, 24), "");

  size_t frames_with_detections = 0, detections = 0;
  for (const auto& f : ja.frames) {
    frames_with_detections += f.detections.empty() ? 0 : 1;
    detections += f.detections.size();
  }
  std::cout << "[          ] " << frames_with_detections << " of " << ja.frames.size()
            << " frames have detections (" << detections << " in all)\n";
  ASSERT_GT(frames_with_detections, 0u)
      << "no detections at all: the comparison would prove nothing";
  EXPECT_EQ(compare_detections(ja, jb), "");
  EXPECT_EQ(compare_detections(ja, jc), "");
}

}  // namespace
}  // namespace streaminfer::test
