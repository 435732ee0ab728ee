// What --precision auto and --calibration rest on: cached activation ranges that give the same
// int8 model as calibrating, a cache that refuses another model's or weights' ranges, the
// calibration frames of a folder or a file, and the fp32/int8 agreement measure.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/image_file.h"
#include "infer/calibration_cache.h"
#include "infer/calibration_frames.h"
#include "infer/int8_agreement.h"
#include "infer/yolov8_int8.h"
#include "streaminfer/frame.h"

extern "C" {
#include <libavutil/frame.h>
}

namespace streaminfer {
namespace {

namespace fs = std::filesystem;

class TempFolder {
 public:
  TempFolder() {
    path_ = fs::temp_directory_path() /
            ("si_calib_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempFolder() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

YoloV8 fused_model() {
  at::manual_seed(0);
  YoloV8 model('n', 4);
  model->eval();
  EXPECT_TRUE(model->fuse_batch_norm());
  return model;
}

TEST(Int8Calibration, CachedRangesGiveTheSameInt8ModelWithoutCalibrating) {
  YoloV8 model = fused_model();
  auto calibrated = YoloV8Int8::create(model);
  ASSERT_TRUE(calibrated);
  torch::NoGradGuard no_grad;
  const auto x = torch::rand({2, 3, 64, 64});
  calibrated->calibrate(x);
  const auto ranges = calibrated->ranges();
  ASSERT_FALSE(ranges.empty());
  ASSERT_TRUE(calibrated->convert());

  auto cached = YoloV8Int8::create(model);
  ASSERT_TRUE(cached);
  ASSERT_TRUE(cached->use_ranges(ranges, 2));
  EXPECT_EQ(cached->calibration_images(), 2);
  ASSERT_TRUE(cached->convert());
  EXPECT_TRUE(torch::equal(cached->forward(x), calibrated->forward(x)));
}

TEST(Int8Calibration, RangesOfAnotherGraphAreRefused) {
  YoloV8 model = fused_model();
  auto int8 = YoloV8Int8::create(model);
  ASSERT_TRUE(int8);
  const auto refused = int8->use_ranges({{"input", {0.f, 1.f}}}, 8);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.message().find("another graph"), std::string::npos) << refused.message();
  EXPECT_FALSE(int8->convert());  // nothing calibrated
}

TEST(Int8Calibration, TheCacheRoundTripsAndSaysWhatDiffers) {
  TempFolder dir;
  CalibrationRecord record;
  record.model = "yolov8n";
  record.input_size = 640;
  record.weights = weights_fingerprint(*fused_model());
  record.source = "8 frames of clip.mp4";
  record.frames = 8;
  record.agreement = 0.93;
  record.ranges = {{"input", {0.f, 1.f}}, {"model.0.act", {-0.278f, 6.5f}}};
  const std::string path = (dir.path() / "c.json").string();
  ASSERT_TRUE(save_calibration(path, record));
  auto loaded = load_calibration(path);
  ASSERT_TRUE(loaded) << loaded.status().message();
  ASSERT_TRUE(loaded.value().has_value());
  const CalibrationRecord& back = *loaded.value();
  EXPECT_EQ(back.ranges, record.ranges);
  EXPECT_EQ(back.source, record.source);
  EXPECT_DOUBLE_EQ(back.agreement, 0.93);
  EXPECT_EQ(calibration_mismatch(back, record), "");

  CalibrationRecord other = record;
  other.input_size = 320;
  EXPECT_NE(calibration_mismatch(back, other).find("at 640, not yolov8n at 320"),
            std::string::npos);
  other = record;
  other.weights = "0123456789abcdef";
  EXPECT_NE(calibration_mismatch(back, other).find("other weights"), std::string::npos);

  auto missing = load_calibration((dir.path() / "none.json").string());
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing.value().has_value());
  std::ofstream(dir.path() / "bad.json") << "{\"streaminfer_calibration\": 1, \"model\": 3}";
  auto bad = load_calibration((dir.path() / "bad.json").string());
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.status().message().find("bad.json"), std::string::npos);
}

TEST(Int8Calibration, TheFingerprintFollowsTheWeights) {
  YoloV8 a = fused_model(), b = fused_model();
  EXPECT_EQ(weights_fingerprint(*a), weights_fingerprint(*b));
  {
    torch::NoGradGuard no_grad;
    b->parameters()[0].add_(1e-3);
  }
  EXPECT_NE(weights_fingerprint(*a), weights_fingerprint(*b));
  EXPECT_EQ(weights_fingerprint(*a).size(), 16u);
}

TEST(Int8Calibration, TheDefaultCacheIsBesideTheWeightsOrInTheUserCache) {
  EXPECT_EQ(default_calibration_cache_path("/m/w.pt", "yolov8n", 640, "abc", ""),
            "/m/w.pt.int8-640-synthetic.json");
  const std::string clip =
      default_calibration_cache_path("/m/w.pt", "yolov8n", 640, "abc", "a.mp4");
  EXPECT_NE(clip, default_calibration_cache_path("/m/w.pt", "yolov8n", 640, "abc", "b.mp4"));
  EXPECT_EQ(clip.rfind("/m/w.pt.int8-640-", 0), 0u) << clip;
  const char* before = std::getenv("XDG_CACHE_HOME");
  const std::string saved = before != nullptr ? before : "";
  ::setenv("XDG_CACHE_HOME", "/xdg", 1);
  EXPECT_EQ(default_calibration_cache_path("", "yolov8n", 320, "abc", ""),
            "/xdg/streaminfer/calibration/yolov8n-320-abc-synthetic.json");
  if (before != nullptr) {
    ::setenv("XDG_CACHE_HOME", saved.c_str(), 1);
  } else {
    ::unsetenv("XDG_CACHE_HOME");
  }
}

// Darker frames, smaller ranges: what calibrating on the user's own frames is for.
TEST(Int8Calibration, AFolderOfDarkImagesGivesOtherRangesThanBrightOnes) {
  TempFolder dark, bright;
  for (int i = 0; i < 5; ++i) {
    for (auto [folder, level] : {std::pair{&dark, 12}, std::pair{&bright, 230}}) {
      AvFramePtr frame = make_av_frame();
      frame->format = 2;  // AV_PIX_FMT_RGB24
      frame->width = 64;
      frame->height = 64;
      ASSERT_EQ(av_frame_get_buffer(frame.get(), 0), 0);
      for (int y = 0; y < frame->height; ++y) {
        for (int x = 0; x < frame->width * 3; ++x) {
          frame->data[0][y * frame->linesize[0] + x] =
              static_cast<uint8_t>(level + (x + y + i) % 20);
        }
      }
      ASSERT_TRUE(
          write_image(*frame, (folder->path() / ("f" + std::to_string(i) + ".png")).string(), {}));
    }
  }
  auto dark_frames = read_calibration_frames(dark.path().string(), 4, 64);
  ASSERT_TRUE(dark_frames) << dark_frames.status().message();
  EXPECT_EQ(dark_frames->images.size(0), 4);
  EXPECT_EQ(dark_frames->held_out.size(0), 1);
  EXPECT_NE(dark_frames->description.find("4 images of folder"), std::string::npos)
      << dark_frames->description;
  auto bright_frames = read_calibration_frames(bright.path().string(), 4, 64);
  ASSERT_TRUE(bright_frames);

  YoloV8 model = fused_model();
  auto on_dark = YoloV8Int8::create(model), on_bright = YoloV8Int8::create(model);
  torch::NoGradGuard no_grad;
  on_dark->calibrate(dark_frames->images);
  on_bright->calibrate(bright_frames->images);
  const auto dark_ranges = on_dark->ranges(), bright_ranges = on_bright->ranges();
  // Square frames: no letterbox padding, every pixel is the picture.
  EXPECT_LT(dark_ranges.at("input").second, 0.2f);
  EXPECT_GT(bright_ranges.at("input").first, 0.85f);
  // Nearly every site's range moves (random weights shrink the deep activations to 1e-9, so
  // relative to its size).
  const auto moved = [](float a, float b) {
    return std::abs(a - b) > 1e-2f * std::max(std::abs(a), std::abs(b));
  };
  int differing = 0;
  for (const auto& [site, range] : dark_ranges) {
    const auto& other = bright_ranges.at(site);
    if (moved(range.first, other.first) || moved(range.second, other.second)) {
      ++differing;
    }
  }
  EXPECT_GT(differing, static_cast<int>(dark_ranges.size()) * 9 / 10)
      << differing << " of " << dark_ranges.size();
}

TEST(Int8Calibration, AFolderWithoutImagesIsOneLineThatSaysSo) {
  TempFolder empty;
  auto frames = read_calibration_frames(empty.path().string(), 8, 64);
  ASSERT_FALSE(frames);
  EXPECT_NE(frames.status().message().find("holds 0 image(s)"), std::string::npos)
      << frames.status().message();
  auto missing = read_calibration_frames("/no/such/clip.mp4", 8, 64);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.status().message().find("/no/such/clip.mp4"), std::string::npos);
}

TEST(Int8Calibration, AgreementOfDetectorsAndClassifiers) {
  auto out = torch::zeros({1, 4 + 2, 4});
  out.index_put_({0, 4, 0}, 0.9);  // anchor 0: class 0
  out.index_put_({0, 5, 1}, 0.8);  // anchor 1: class 1
  auto same = output_agreement(ModelTask::kDetect, out, out.clone());
  EXPECT_DOUBLE_EQ(same.value, 1.0);
  auto moved = out.clone();
  moved.index_put_({0, 5, 1}, 0.1);   // int8 loses anchor 1
  moved.index_put_({0, 5, 0}, 0.95);  // and calls anchor 0 class 1
  EXPECT_DOUBLE_EQ(output_agreement(ModelTask::kDetect, out, moved).value, 0.0);
  auto nothing =
      output_agreement(ModelTask::kDetect, torch::zeros({1, 6, 4}), torch::zeros({1, 6, 4}));
  EXPECT_EQ(nothing.value, -1);
  const auto logits = torch::tensor({{1.f, 2.f}, {3.f, 0.f}});
  EXPECT_DOUBLE_EQ(output_agreement(ModelTask::kClassify, logits, logits).value, 1.0);
  EXPECT_DOUBLE_EQ(
      output_agreement(ModelTask::kClassify, logits, torch::tensor({{1.f, 2.f}, {0.f, 3.f}})).value,
      0.5);
}

}  // namespace
}  // namespace streaminfer
