#include "source/file_source.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "child_process.h"
#include "source/capture_devices.h"

extern "C" {
#include <libavformat/avformat.h>
#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>
}

namespace streaminfer {
namespace {

namespace fs = std::filesystem;

std::string shell_output(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return out;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) out.append(buffer, n);
  pclose(pipe);
  return out;
}

std::vector<char> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const fs::path& path, const char* data, size_t size) {
  std::ofstream out(path, std::ios::binary);
  out.write(data, static_cast<std::streamsize>(size));
}

struct DecodeResult {
  Status status;
  std::vector<double> pts;
  int64_t decode_errors = 0;
};

DecodeResult decode_all(const std::string& uri, int threads = 2) {
  DecodeResult result;
  SourceOptions options;
  options.decode_threads = threads;
  auto source = open_source(uri, options);
  if (!source) {
    result.status = source.status();
    return result;
  }
  while (true) {
    FramePtr frame;
    result.status = (*source)->next(frame);
    if (!result.status || !frame) break;
    EXPECT_TRUE(frame->image);
    result.pts.push_back(frame->pts_seconds);
  }
  result.decode_errors = (*source)->decode_errors();
  // The end is sticky: asking again still says end of stream.
  if (result.status) {
    FramePtr again;
    EXPECT_TRUE((*source)->next(again));
    EXPECT_FALSE(again);
  }
  return result;
}

class FileSourceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string ffmpeg = STREAMINFER_TEST_FFMPEG;
    if (ffmpeg.empty()) return;
    dir_ = new fs::path(fs::temp_directory_path() /
                        ("streaminfer_file_source_test_" + std::to_string(getpid())));
    fs::create_directories(*dir_);
    const bool has_x264 =
        shell_output("'" + ffmpeg + "' -hide_banner -encoders 2>/dev/null").find("libx264") !=
        std::string::npos;
    const std::string codec = has_x264 ? "-c:v libx264 -preset veryfast -bf 2" : "-c:v mpeg4";
    // A keyframe every 10 frames so decoding recovers soon after damage. faststart puts the mp4
    // index first, which a truncated file needs to open at all.
    const std::string encode = "'" + ffmpeg +
                               "' -hide_banner -loglevel error -y -f lavfi "
                               "-i testsrc=size=320x240:rate=25 -t 2 " +
                               codec + " -g 10 -pix_fmt yuv420p ";
    const fs::path& d = *dir_;
    ok_ = std::system(
              (encode + "-movflags +faststart '" + (d / "clip.mp4").string() + "'").c_str()) == 0 &&
          std::system((encode + "'" + (d / "clip.mkv").string() + "'").c_str()) == 0 &&
          std::system(("'" + ffmpeg + "' -hide_banner -loglevel error -y -f lavfi -i sine -t 1 '" +
                       (d / "audio.wav").string() + "'")
                          .c_str()) == 0;
    if (!ok_) return;
    std::ofstream(d / "notes.txt") << "shopping list: milk, eggs, a new GPU\n";

    for (const char* name : {"clip.mp4", "clip.mkv"}) {
      const std::vector<char> bytes = read_bytes(d / name);
      const std::string stem = fs::path(name).stem().string(), ext = fs::path(name).extension();
      write_bytes(d / (stem + "_truncated" + ext), bytes.data(), bytes.size() / 2);
      std::vector<char> damaged = bytes;
      // Overwrite a run of bytes in the middle of the picture data with junk.
      uint32_t state = 12345;
      for (size_t i = damaged.size() * 2 / 5; i < damaged.size() * 2 / 5 + 3000; ++i) {
        state = state * 1664525u + 1013904223u;
        damaged[i] = static_cast<char>(state >> 24);
      }
      write_bytes(d / (stem + "_damaged" + ext), damaged.data(), damaged.size());
    }
  }

  static void TearDownTestSuite() {
    if (dir_) fs::remove_all(*dir_);
    delete dir_;
    dir_ = nullptr;
  }

  void SetUp() override {
    if (!dir_) GTEST_SKIP() << "no ffmpeg CLI to make test clips";
    ASSERT_TRUE(ok_) << "ffmpeg failed to make the test clips";
  }

  static std::string path(const char* name) { return (*dir_ / name).string(); }

  static fs::path* dir_;
  static bool ok_;
};

fs::path* FileSourceTest::dir_ = nullptr;
bool FileSourceTest::ok_ = false;

TEST_F(FileSourceTest, Mp4HasEveryFrameWithMonotonicPts) {
  DecodeResult result = decode_all(path("clip.mp4"));
  ASSERT_TRUE(result.status) << result.status.message();
  ASSERT_EQ(result.pts.size(), 50u);
  EXPECT_NEAR(result.pts.front(), 0.0, 1e-6);
  EXPECT_NEAR(result.pts.back(), 49 / 25.0, 1e-3);
  for (size_t i = 1; i < result.pts.size(); ++i) EXPECT_GT(result.pts[i], result.pts[i - 1]);
  EXPECT_EQ(result.decode_errors, 0);
}

// python3's http.server is a real HTTP server on loopback; FFmpeg reads the clip through it.
TEST_F(FileSourceTest, AVideoFileServedOverHttpIsReadToItsEndLikeAFile) {
  using namespace std::chrono_literals;
  const int port = test::free_loopback_port();
  test::ChildProcess server({STREAMINFER_TEST_PYTHON, "-m", "http.server", "--bind", "127.0.0.1",
                             std::to_string(port), "--directory", dir_->string()},
                            *dir_ / "http.out", *dir_ / "http.err");
  ASSERT_TRUE(test::wait_until([&] { return test::port_accepts(port); }, 10s))
      << test::read_file(*dir_ / "http.err");
  const std::string url = fmt::format("http://127.0.0.1:{}/clip.mp4", port);
  auto source = open_source(url, SourceOptions{});
  ASSERT_TRUE(source) << source.status().message();
  // Not live: every frame is read and the stream ends at the end of the file, where a live
  // stream would count a drop and play the file again.
  EXPECT_FALSE((*source)->info().live);
  EXPECT_FALSE((*source)->info().self_paced);
  DecodeResult result = decode_all(url);
  ASSERT_TRUE(result.status) << result.status.message();
  EXPECT_EQ(result.pts.size(), 50u);
  EXPECT_EQ(result.decode_errors, 0);
}

TEST_F(FileSourceTest, InfoDescribesTheStream) {
  auto source = open_source(path("clip.mp4"), SourceOptions{});
  ASSERT_TRUE(source) << source.status().message();
  const SourceInfo& info = (*source)->info();
  EXPECT_EQ(info.uri, path("clip.mp4"));
  EXPECT_EQ(info.width, 320);
  EXPECT_EQ(info.height, 240);
  EXPECT_NEAR(info.fps, 25.0, 1e-6);
  EXPECT_FALSE(info.live);
  EXPECT_FALSE(info.has_ground_truth);
  EXPECT_NE(info.description.find("320x240 @ 25.00 fps (mov,mp4,m4a,3gp,3g2,mj2)"),
            std::string::npos)
      << info.description;
  FramePtr frame;
  ASSERT_TRUE((*source)->next(frame));
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->image->width, 320);
  EXPECT_EQ(frame->image->height, 240);
  EXPECT_EQ(frame->image->format, AV_PIX_FMT_YUV420P);  // native format, not converted
}

TEST_F(FileSourceTest, MkvAndThreadCounts) {
  for (int threads : {0, 1, 4}) {
    DecodeResult result = decode_all(path("clip.mkv"), threads);
    ASSERT_TRUE(result.status) << result.status.message();
    EXPECT_EQ(result.pts.size(), 50u) << threads << " threads";
    for (size_t i = 1; i < result.pts.size(); ++i) EXPECT_GT(result.pts[i], result.pts[i - 1]);
  }
  auto source = open_source(path("clip.mkv"), SourceOptions{});
  ASSERT_TRUE(source);
  EXPECT_NE((*source)->info().description.find("(matroska,webm)"), std::string::npos)
      << (*source)->info().description;
}

TEST_F(FileSourceTest, MissingFile) {
  const std::string missing = path("no_such_clip.mp4");
  auto source = open_source(missing, SourceOptions{});
  ASSERT_FALSE(source);
  EXPECT_EQ(source.status().message(),
            "cannot open '" + missing + "': No such file or directory (check the path)");
}

TEST_F(FileSourceTest, NotAVideo) {
  auto text = open_source(path("notes.txt"), SourceOptions{});
  ASSERT_FALSE(text);
  // fmt::format rather than operator+: GCC 12 -O3 raises a false -Wrestrict on "'" + string.
  EXPECT_EQ(text.status().message(),
            fmt::format("'{}' is not a video file FFmpeg can read (Invalid data found when "
                        "processing input)",
                        path("notes.txt")));
  auto audio = open_source(path("audio.wav"), SourceOptions{});
  ASSERT_FALSE(audio);
  EXPECT_EQ(audio.status().message(), fmt::format("'{}' has no video stream", path("audio.wav")));
}

TEST_F(FileSourceTest, TruncatedFileGivesWhatDecodesThenEnds) {
  for (const char* name : {"clip_truncated.mp4", "clip_truncated.mkv"}) {
    DecodeResult result = decode_all(path(name));
    EXPECT_TRUE(result.status) << name << ": " << result.status.message();
    EXPECT_GT(result.pts.size(), 0u) << name;
    EXPECT_LT(result.pts.size(), 50u) << name;
    std::printf("[ info ] %s: %zu frames, %lld decode errors\n", name, result.pts.size(),
                static_cast<long long>(result.decode_errors));
  }
}

TEST_F(FileSourceTest, DamagedMiddleEndsCleanly) {
  for (const char* name : {"clip_damaged.mp4", "clip_damaged.mkv"}) {
    DecodeResult result = decode_all(path(name));
    EXPECT_TRUE(result.status) << name << ": " << result.status.message();
    EXPECT_GT(result.pts.size(), 10u) << name;
    std::printf("[ info ] %s: %zu frames, %lld decode errors\n", name, result.pts.size(),
                static_cast<long long>(result.decode_errors));
  }
}

TEST(FileSourceUriTest, LiveUris) {
  EXPECT_TRUE(is_live_uri("rtsp://camera.local/stream1"));
  EXPECT_TRUE(is_live_uri("http://example.com/live.m3u8"));
  EXPECT_TRUE(is_live_uri("https://example.com/live.m3u8"));
  EXPECT_TRUE(is_live_uri("/dev/video0"));
  EXPECT_FALSE(is_live_uri("/data/clip.mp4"));
  EXPECT_FALSE(is_live_uri("clip.mkv"));
}

TEST(FileSourceUriTest, CameraIndicesAndDevicesOpenThroughV4l2) {
  EXPECT_TRUE(is_live_uri("camera:0"));
  auto camera = ffmpeg_input_of("camera:2");
  ASSERT_TRUE(camera);
  EXPECT_EQ(camera.value().url, "/dev/video2");
  EXPECT_EQ(camera.value().format, "video4linux2");
  EXPECT_EQ(ffmpeg_input_of("/dev/video1").value().format, "video4linux2");
  for (const char* bad : {"camera:", "camera:x", "camera:-1"}) {
    auto input = ffmpeg_input_of(bad);
    ASSERT_FALSE(input) << bad;
    EXPECT_NE(input.status().message().find("camera:0"), std::string::npos);
  }
}

// libavdevice is not linked (capture_devices.h): a webcam source loads it, and then opening a
// missing device fails on the device, not for want of FFmpeg's video4linux2 input.
TEST(FileSourceUriTest, AWebcamSourceLoadsTheCaptureDevicesItNeeds) {
  EXPECT_EQ(capture_device_library().rfind("libavdevice.so.", 0), 0u) << capture_device_library();
  auto missing = FileSource::open("/dev/video97", SourceOptions{});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.status().message().find("/dev/video97"), std::string::npos)
      << missing.status().message();
  EXPECT_EQ(missing.status().message().find("has no video4linux2"), std::string::npos)
      << missing.status().message();
  EXPECT_NE(av_find_input_format("video4linux2"), nullptr);
  EXPECT_TRUE(register_capture_devices()) << register_capture_devices().message();
}

TEST(FileSourceUriTest, RtspTransportIsTcpUnlessTheUrlAsksForUdp) {
  auto plain = ffmpeg_input_of("rtsp://cam/stream1?channel=2");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain.value().rtsp_transport, "tcp");
  EXPECT_EQ(plain.value().url, "rtsp://cam/stream1?channel=2");
  // The key is streaminfer's: the camera never sees it, and its own keys stay in order.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"rtsp://cam/s?transport=udp", "rtsp://cam/s"},
      {"rtsp://cam/s?transport=udp&channel=2", "rtsp://cam/s?channel=2"},
      {"rtsp://cam/s?channel=2&transport=udp", "rtsp://cam/s?channel=2"},
      {"rtsp://cam/s?a=1&transport=udp&b=2", "rtsp://cam/s?a=1&b=2"},
  };
  for (const auto& [uri, url] : cases) {
    auto input = ffmpeg_input_of(uri);
    ASSERT_TRUE(input) << uri;
    EXPECT_EQ(input.value().url, url) << uri;
    EXPECT_EQ(input.value().rtsp_transport, "udp") << uri;
  }
  EXPECT_EQ(ffmpeg_input_of("rtsp://cam/s?transport=tcp").value().rtsp_transport, "tcp");
  auto bad = ffmpeg_input_of("rtsp://cam/s?transport=quic");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.status().message().find("transport must be tcp or udp"), std::string::npos);
  // Not an rtsp URL: left alone.
  EXPECT_EQ(ffmpeg_input_of("http://host/live?transport=udp").value().url,
            "http://host/live?transport=udp");
}

TEST(FileSourceUriTest, EmptyUriIsAnError) {
  auto source = open_source("", SourceOptions{});
  ASSERT_FALSE(source);
  EXPECT_FALSE(source.status().message().empty());
}

}  // namespace
}  // namespace streaminfer
