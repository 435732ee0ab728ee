// --precision auto (the default) and int8 calibration on the user's frames, end to end: the
// start-up block and the summary say which precision ran and why; --calibration measures the
// ranges on a clip and keeps them in --calibration-cache, which the next start reads instead of
// calibrating; a cache made for another model is refused with one line; a precision choice never
// crashes, even with oneDNN held to a CPU without VNNI.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "run_command.h"

namespace streaminfer::test {
namespace {

namespace fs = std::filesystem;

nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
}

// The bundled detector (it has an int8 form and real weights), a short synthetic stream.
std::vector<std::string> bundled_run(const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {
      "--model", "yolov8n-shapes", "--source", synthetic_uri(320, 192, 8), "--pace", "max"};
  if (std::find(extra.begin(), extra.end(), "--precision") == extra.end()) {
    argv.insert(argv.end(), {"--precision", "auto"});
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  return streaminfer_run(argv);
}

// A clip far darker than the synthetic scenes (testsrc at a tenth of its brightness).
std::filesystem::path make_dark_clip(const TempDir& dir) {
  const auto path = dir / "dark.mp4";
  const auto made = run_command({ffmpeg_path().string(), "-hide_banner", "-loglevel", "error", "-y",
                                 "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-vf",
                                 "lutrgb=r=val/10:g=val/10:b=val/10", "-t", "2", "-pix_fmt",
                                 "yuv420p", path.string()});
  EXPECT_EQ(made.exit_code, 0) << made.describe();
  return path;
}

TEST(PrecisionAuto, TheStartAndTheSummarySayWhichPrecisionRanAndWhy) {
  TempDir dir;
  ScopedEnv xdg("XDG_CACHE_HOME", (dir / "cache").string());
  const auto r = run_command(bundled_run({"--metrics-dir", dir.path().string()}));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  if (has_line_with_all(r.out, {"auto: fp32: int8 cannot run here"})) {
    GTEST_SKIP() << "no int8 engine on this CPU: " << r.out;
  }
  // int8, bf16 or fp32, whichever measured faster here, with the measurements in the line.
  ASSERT_TRUE(has_line_with_all(r.out, {"precision: ", "(auto: ", "measured", "at load", "vs"}))
      << r.describe();
  const bool int8 = has_line_with_all(r.out, {"precision: int8 (auto: "});
  const bool bf16 = has_line_with_all(r.out, {"precision: bf16 (auto: "});
  // bf16 is timed where the CPU has bfloat16 instructions of its own (AVX-512 BF16, AMX), after
  // the same held-out check as int8; elsewhere the line says why not.
  EXPECT_TRUE(has_line_with_all(r.out, {"precision: ", "bf16 measured", "x fp32 at load"}) ||
              has_line_with_all(r.out, {"precision: ", "bf16 not timed"}) ||
              has_line_with_all(r.out, {"precision: ", "bf16 cannot run here"}) ||
              has_line_with_all(r.out, {"precision: ", "bf16 left out"}))
      << r.describe();
  if (has_line_with_all(r.out, {"precision: ", "bf16 measured"})) {
    EXPECT_TRUE(has_line_with_all(r.out, {"precision: ", "bf16 and fp32 agree on 8 held-out frames",
                                          "held-out mAP@0.5 bf16 0."}))
        << r.describe();
  }
  if (int8) {
    EXPECT_TRUE(has_line_with_all(r.out, {"int8 calibration: calibrated on 32 synthetic scenes",
                                          "ranges saved to", "calibration"}))
        << r.describe();
    EXPECT_TRUE(has_line_with_all(r.out, {"agree on 8 held-out frames", "candidates over 0.25",
                                          "held-out mAP@0.5 int8 0.", "fp32 0.", "(8 frames, "}))
        << r.describe();
  }
  const auto json = read_json(only_file_with_prefix(dir.path(), "S_"));
  ASSERT_TRUE(json.is_object());
  EXPECT_EQ(json["precision"]["ran"], int8 ? "int8" : bf16 ? "bf16" : "fp32") << json.dump();
  EXPECT_NE(json["precision"]["why"].get<std::string>().find("auto: "), std::string::npos);
  if (int8) {
    EXPECT_NE(json["precision"]["calibration"].get<std::string>().find("held-out mAP@0.5"),
              std::string::npos)
        << json.dump();
  }
  // The summary at the end says it again.
  EXPECT_TRUE(has_line_with_all(r.out, {"precision: ", "(auto: "}) &&
              r.out.rfind("precision: ") > r.out.find("== streaminfer summary"))
      << r.describe();
}

TEST(PrecisionAuto, ASecondStartReadsTheDefaultCacheInsteadOfCalibrating) {
  TempDir dir;
  ScopedEnv xdg("XDG_CACHE_HOME", (dir / "cache").string());
  const auto first = run_command(bundled_run({"--precision", "int8"}));
  ASSERT_EQ(first.exit_code, 0) << first.describe();
  if (has_line_with_all(first.err, {"--precision int8", "running fp32"})) {
    GTEST_SKIP() << "int8 cannot run on this CPU: " << first.err;
  }
  EXPECT_TRUE(
      has_line_with_all(first.out, {"int8 calibration: calibrated on 32 synthetic scenes",
                                    (dir / "cache" / "streaminfer" / "calibration").string()}))
      << first.describe();
  const auto second = run_command(bundled_run({"--precision", "int8"}));
  ASSERT_EQ(second.exit_code, 0) << second.describe();
  EXPECT_TRUE(has_line_with_all(second.out, {"int8 calibration: ranges read from",
                                             "(32 synthetic scenes)", "no calibration forwards"}))
      << second.describe();

  // Ranges of another graph in the default place (an older streaminfer's): measured again and
  // rewritten, not an error.
  const auto folder = dir / "cache" / "streaminfer" / "calibration";
  ASSERT_TRUE(fs::is_directory(folder));
  for (const auto& entry : fs::directory_iterator(folder)) {
    auto json = read_json(entry.path());
    json["ranges"] = {{"input", {0.0, 1.0}}};
    std::ofstream(entry.path()) << json.dump();
  }
  const auto third = run_command(bundled_run({"--precision", "int8"}));
  ASSERT_EQ(third.exit_code, 0) << third.describe();
  EXPECT_TRUE(has_line_with_all(
      third.out, {"int8 calibration: calibrated on 32 synthetic scenes", "ranges saved to"}))
      << third.describe();
}

// The test: a clip much darker than the synthetic scenes gives other activation ranges;
// the next start with the same cache reads them (no calibration forwards); another model is
// refused with one line and the cache stays as it was.
TEST(PrecisionAuto, CalibrationOnADarkClipIsKeptAndReadAgain) {
  TempDir dir;
  ScopedEnv xdg("XDG_CACHE_HOME", (dir / "cache").string());
  const auto clip = make_dark_clip(dir);
  const auto dark = dir / "dark.json", synthetic = dir / "synthetic.json";
  const auto on_clip =
      run_command(bundled_run({"--precision", "int8", "--calibration", clip.string(),
                               "--calibration-frames", "8", "--calibration-cache", dark.string()}));
  ASSERT_EQ(on_clip.exit_code, 0) << on_clip.describe();
  if (has_line_with_all(on_clip.err, {"--precision int8", "running fp32"})) {
    GTEST_SKIP() << "int8 cannot run on this CPU: " << on_clip.err;
  }
  EXPECT_TRUE(
      has_line_with_all(on_clip.out, {"int8 calibration: calibrated on 8 frames of", "dark.mp4",
                                      "one in 4", "ranges saved to", dark.string()}))
      << on_clip.describe();
  // 2 s at 25 fps, one frame in 4: 13 frames, 8 calibrate and the other 2 of the 10 taken are
  // held out to compare int8 with fp32.
  EXPECT_TRUE(has_line_with_all(on_clip.out, {"agree on 2 held-out frames"})) << on_clip.describe();

  const auto on_scenes =
      run_command(bundled_run({"--precision", "int8", "--calibration-cache", synthetic.string()}));
  ASSERT_EQ(on_scenes.exit_code, 0) << on_scenes.describe();
  const auto dark_json = read_json(dark), synthetic_json = read_json(synthetic);
  ASSERT_TRUE(dark_json.is_object() && synthetic_json.is_object());
  EXPECT_EQ(dark_json["frames"], 8);
  EXPECT_EQ(synthetic_json["frames"], 32);
  // The input: a tenth of testsrc's brightness against bright synthetic scenes (the letterbox's
  // grey pad, 114/255, tops the dark clip's input).
  EXPECT_LT(dark_json["ranges"]["input"][1].get<double>(), 0.5);
  EXPECT_GT(synthetic_json["ranges"]["input"][1].get<double>(), 0.9);
  int moved = 0, sites = 0;
  for (const auto& [site, range] : dark_json["ranges"].items()) {
    ++sites;
    const auto& other = synthetic_json["ranges"][site];
    if (std::abs(range[1].get<double>() - other[1].get<double>()) >
        0.05 * std::abs(other[1].get<double>())) {
      ++moved;
    }
  }
  EXPECT_GT(moved, sites / 2) << moved << " of " << sites << " sites";

  std::ifstream before_in(dark);
  const std::string before((std::istreambuf_iterator<char>(before_in)), {});
  const auto again =
      run_command(bundled_run({"--precision", "int8", "--calibration", clip.string(),
                               "--calibration-frames", "8", "--calibration-cache", dark.string()}));
  ASSERT_EQ(again.exit_code, 0) << again.describe();
  EXPECT_TRUE(has_line_with_all(again.out, {"int8 calibration: ranges read from", dark.string(),
                                            "8 frames of", "no calibration forwards"}))
      << again.describe();

  const auto other_model = run_command(
      streaminfer_run({"--model", "yolov8n", "--precision", "int8", "--max-frames", "2", "--source",
                       synthetic_uri(160, 96, 2), "--calibration-cache", dark.string()}));
  EXPECT_EQ(other_model.exit_code, 2) << other_model.describe();
  EXPECT_EQ(check_error_line(other_model, {"--calibration-cache", dark.string(),
                                           "made for yolov8n-shapes at 320, not yolov8n at 320",
                                           "delete it or name another file"}),
            "");
  // Another calibration source for the same explicit cache: refused, the cache kept.
  const auto other_source =
      run_command(bundled_run({"--precision", "int8", "--calibration", synthetic_uri(320, 192, 20),
                               "--calibration-cache", dark.string()}));
  EXPECT_EQ(other_source.exit_code, 2) << other_source.describe();
  EXPECT_EQ(check_error_line(other_source, {"--calibration-cache", "measured on", "dark.mp4",
                                            "delete it or name another file"}),
            "");
  std::ifstream after_in(dark);
  const std::string after((std::istreambuf_iterator<char>(after_in)), {});
  EXPECT_EQ(before, after) << "a refused cache must stay as it was";
}

// A synthetic stream has ground truth: the held-out frames compare int8's mAP with fp32's.
TEST(PrecisionAuto, CalibrationOnAStreamWithGroundTruthComparesMap) {
  TempDir dir;
  ScopedEnv xdg("XDG_CACHE_HOME", (dir / "cache").string());
  const auto r = run_command(
      bundled_run({"--precision", "int8", "--calibration", synthetic_uri(640, 360, 60, 11, 30, 6),
                   "--calibration-frames", "8"}));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  if (has_line_with_all(r.err, {"--precision int8", "running fp32"})) {
    GTEST_SKIP() << "int8 cannot run on this CPU: " << r.err;
  }
  EXPECT_TRUE(has_line_with_all(
      r.out, {"int8 calibration: calibrated on 8 frames of synthetic:",
              "agree on 2 held-out frames", "held-out mAP@0.5 int8 ", "fp32 ", "(2 frames, "}))
      << r.describe();
}

TEST(PrecisionAuto, CalibrationIsRefusedWhereNoInt8Runs) {
  TempDir dir;
  const auto r = run_command(
      streaminfer_run({"--precision", "fp32", "--calibration", (dir / "clip.mp4").string()}));
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_EQ(check_error_line(r, {"--calibration", "--precision fp32", "int8"}), "");
  const auto missing = run_command(streaminfer_run(
      {"--precision", "int8", "--max-frames", "2", "--source", synthetic_uri(160, 96, 2),
       "--calibration", (dir / "missing.mp4").string()}));
  EXPECT_EQ(missing.exit_code, 2) << missing.describe();
  EXPECT_EQ(check_error_line(missing, {"--calibration", "missing.mp4"}), "");
}

// Without VNNI (oneDNN held to AVX2) int8 may be slower than fp32: auto measures and says
// which ran and why; whatever it picks, the run ends normally. Nor has AVX2 bfloat16
// instructions: bf16 is not timed, and the line says so.
TEST(PrecisionAuto, WithOneDnnHeldToAvx2AutoRunsAndSaysWhy) {
  TempDir dir;
  ScopedEnv xdg("XDG_CACHE_HOME", (dir / "cache").string());
  ScopedEnv cap("ONEDNN_MAX_CPU_ISA", "AVX2");
  const auto r = run_command(bundled_run({}));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.term_signal, 0);
  EXPECT_TRUE(has_line_with_all(r.out, {"precision: ", "(auto: "})) << r.describe();
  EXPECT_FALSE(has_line_with_all(r.out, {"precision: bf16"})) << r.describe();
  EXPECT_TRUE(has_line_with_all(r.out, {"precision: ", "bf16 not timed"}) ||
              has_line_with_all(r.out, {"precision: ", "bf16 cannot run here"}))
      << r.describe();
  EXPECT_TRUE(has_line_with_all(r.out, {"== streaminfer summary: 8 frames"})) << r.describe();
}

// A built-in model without an int8 form: fp32 against bf16 where the CPU has bfloat16
// instructions of its own (on an AMD EPYC with AVX-512 BF16, vit_b_16's bf16 measured 2.8x fp32
// and ran), with the held-out check in the line; fp32 and why elsewhere.
TEST(PrecisionAuto, ABuiltinWithoutInt8RunsTheFasterOfFp32AndBf16) {
  TempDir dir;
  ScopedEnv xdg("XDG_CACHE_HOME", (dir / "cache").string());
  auto argv = streaminfer_run({"--model", "vit_b_16", "--precision", "auto", "--micro-batch", "1",
                               "--max-frames", "2", "--source", synthetic_uri(160, 96, 2),
                               "--metrics-dir", dir.path().string()});
  const auto imgsz = std::find(argv.begin(), argv.end(), "--imgsz");
  ASSERT_NE(imgsz, argv.end());
  imgsz[1] = "224";  // vit_b_16 takes 224x224 only
  const auto r = run_command(argv);
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto json = read_json(only_file_with_prefix(dir.path(), "S_"));
  ASSERT_TRUE(json.is_object());
  const std::string ran = json["precision"]["ran"];
  // Not timed (no native bf16, or the probe failed), or left out (its random weights' top-1
  // disagreed with fp32's): fp32 runs and the line says why.
  if (has_line_with_all(r.out, {"precision: ", "bf16 not timed"}) ||
      has_line_with_all(r.out, {"precision: ", "bf16 cannot run here"}) ||
      has_line_with_all(r.out, {"precision: ", "bf16 left out"})) {
    EXPECT_EQ(ran, "fp32") << r.describe();
    return;
  }
  EXPECT_TRUE(has_line_with_all(r.out, {"precision: ", "bf16 measured", "x fp32 at load",
                                        "bf16 and fp32 agree on 8 held-out frames: top-1"}))
      << r.describe();
  EXPECT_TRUE(has_line_with_all(r.out, {"precision: ", "int8 covers the built-in YOLOv8"}) ||
              has_line_with_all(r.out, {"precision: ", "int8 cannot run here"}))
      << r.describe();
  if (ran == "bf16") {
    EXPECT_TRUE(has_line_with_all(r.out, {"precision: bf16 (auto: bf16 measured"})) << r.describe();
    EXPECT_TRUE(has_line_with_all(r.out, {"model: vit_b_16", "bf16 (oneDNN ISA"})) << r.describe();
  } else {
    EXPECT_EQ(ran, "fp32") << r.describe();
  }
  EXPECT_TRUE(has_line_with_all(r.out, {"== streaminfer summary: 2 frames"})) << r.describe();
}

TEST(PrecisionAuto, ASplitModelRunsFp32AndSaysWhy) {
  const auto r =
      run_command(streaminfer_run({"--precision", "auto", "--split-point", "model.9",
                                   "--max-frames", "2", "--source", synthetic_uri(160, 96, 2)}));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  if (has_line_with_all(r.out, {"auto: fp32: int8 cannot run here"})) {
    GTEST_SKIP() << "no int8 engine on this CPU: " << r.out;
  }
  EXPECT_TRUE(has_line_with_all(
      r.out, {"precision: fp32 (auto: fp32: --split-point runs the float32 layers)"}))
      << r.describe();
}

}  // namespace
}  // namespace streaminfer::test
