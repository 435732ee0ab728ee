#include "source/clip_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "source/source.h"

extern "C" {
#include <libavutil/frame.h>
}

namespace streaminfer {
namespace {

namespace fs = std::filesystem;

fs::path temp_path(const std::string& name) {
  return fs::temp_directory_path() / ("streaminfer_clip_" + std::to_string(getpid()) + "_" + name);
}

struct Decoded {
  int64_t frames = 0;
  int width = 0, height = 0;
  double fps = 0;
  double last_pts = 0;
};

Decoded decode_all(const fs::path& path) {
  Decoded d;
  auto source = open_source(path.string(), SourceOptions{});
  EXPECT_TRUE(source) << source.status().message();
  if (!source) return d;
  d.width = source.value()->info().width;
  d.height = source.value()->info().height;
  d.fps = source.value()->info().fps;
  for (;;) {
    FramePtr frame;
    const Status status = source.value()->next(frame);
    EXPECT_TRUE(status) << status.message();
    if (!status || !frame) break;
    EXPECT_EQ(frame->image->width, d.width);
    d.last_pts = frame->pts_seconds;
    ++d.frames;
  }
  return d;
}

TEST(ClipWriter, EveryFrameIsDecodedBackWithTheSizeAndRate) {
  for (const char* codec_name : {"", "mpeg4"}) {
    const std::string codec = codec_name;
    const fs::path path = temp_path(codec.empty() ? "default.mp4" : "mpeg4.mkv");
    ClipOptions options;
    options.width = 160;
    options.height = 96;
    options.fps = 25;
    options.frames = 12;
    options.gop = 5;
    options.codec = codec;
    const Status status = write_synthetic_clip(path.string(), options);
    ASSERT_TRUE(status) << status.message();
    const Decoded d = decode_all(path);
    EXPECT_EQ(d.frames, 12) << "codec " << (codec.empty() ? default_clip_encoder() : codec);
    EXPECT_EQ(d.width, 160);
    EXPECT_EQ(d.height, 96);
    EXPECT_DOUBLE_EQ(d.fps, 25.0);
    EXPECT_NEAR(d.last_pts, 11.0 / 25.0, 1e-3);
    fs::remove(path);
  }
}

TEST(ClipWriter, BadRequestsFailNamingTheFile) {
  ClipOptions odd;
  odd.width = 161;
  Status status = write_synthetic_clip("odd.mp4", odd);
  ASSERT_FALSE(status);
  EXPECT_NE(status.message().find("odd.mp4"), std::string::npos) << status.message();

  status = write_synthetic_clip("/nonexistent-dir/clip.mp4", ClipOptions{});
  ASSERT_FALSE(status);
  EXPECT_NE(status.message().find("/nonexistent-dir/clip.mp4"), std::string::npos)
      << status.message();

  ClipOptions unknown;
  unknown.codec = "no-such-encoder";
  status = write_synthetic_clip(temp_path("x.mp4").string(), unknown);
  ASSERT_FALSE(status);
  EXPECT_NE(status.message().find("no-such-encoder"), std::string::npos) << status.message();
}

}  // namespace
}  // namespace streaminfer
