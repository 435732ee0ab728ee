#include "common/image_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

extern "C" {
#include <libavutil/frame.h>
}

namespace streaminfer {
namespace {
namespace fs = std::filesystem;

class ImageFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("streaminfer_image_" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

// Odd sizes: rows padded in memory, chroma planes rounded up.
AvFramePtr gradient(int width, int height) {
  AvFramePtr f = make_av_frame();
  f->format = AV_PIX_FMT_RGB24;
  f->width = width;
  f->height = height;
  EXPECT_EQ(av_frame_get_buffer(f.get(), 0), 0);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      uint8_t* p = f->data[0] + y * f->linesize[0] + 3 * x;
      p[0] = static_cast<uint8_t>(x * 255 / width);
      p[1] = static_cast<uint8_t>(y * 255 / height);
      p[2] = static_cast<uint8_t>((x + y) * 255 / (width + height));
    }
  }
  return f;
}

// Mean absolute difference per channel value; -1 when the sizes or formats differ.
double mean_abs_diff(const AVFrame& a, const AVFrame& b) {
  if (a.width != b.width || a.height != b.height || a.format != b.format) return -1;
  double sum = 0;
  for (int y = 0; y < a.height; ++y) {
    for (int x = 0; x < 3 * a.width; ++x) {
      sum += std::abs(a.data[0][y * a.linesize[0] + x] - b.data[0][y * b.linesize[0] + x]);
    }
  }
  return sum / (3.0 * a.width * a.height);
}

AvFramePtr read_rgb(const std::string& path) {
  auto read = read_image(path);
  EXPECT_TRUE(read.is_ok()) << read.status().message();
  if (!read) return nullptr;
  auto rgb = to_rgb24(*read.value());
  EXPECT_TRUE(rgb.is_ok()) << rgb.status().message();
  return rgb ? std::move(rgb.value()) : nullptr;
}

TEST_F(ImageFile, PngAndBmpKeepEveryPixel) {
  const AvFramePtr original = gradient(37, 23);
  for (const auto format : {ImageFormat::kPng, ImageFormat::kBmp}) {
    const std::string file = path(std::string("exact.") + image_extension(format));
    ImageWriteOptions options;
    options.format = format;
    ASSERT_TRUE(write_image(*original, file, options).is_ok()) << file;
    const AvFramePtr back = read_rgb(file);
    ASSERT_TRUE(back);
    EXPECT_EQ(mean_abs_diff(*original, *back), 0.0) << file;
  }
}

TEST_F(ImageFile, JpegQualityTradesSizeForFidelity) {
  const AvFramePtr original = gradient(64, 48);
  ImageWriteOptions low, high;
  low.format = high.format = ImageFormat::kJpeg;
  low.jpeg_quality = 5;
  high.jpeg_quality = 95;
  ASSERT_TRUE(write_image(*original, path("low.jpg"), low).is_ok());
  ASSERT_TRUE(write_image(*original, path("high.jpg"), high).is_ok());
  std::ifstream in(path("high.jpg"), std::ios::binary);
  unsigned char soi[2] = {};
  in.read(reinterpret_cast<char*>(soi), 2);
  EXPECT_EQ(soi[0], 0xFF);  // a JPEG file starts with the SOI marker
  EXPECT_EQ(soi[1], 0xD8);
  EXPECT_GT(fs::file_size(path("high.jpg")), fs::file_size(path("low.jpg")));
  const AvFramePtr low_back = read_rgb(path("low.jpg"));
  const AvFramePtr high_back = read_rgb(path("high.jpg"));
  ASSERT_TRUE(low_back && high_back);
  const double low_error = mean_abs_diff(*original, *low_back);
  const double high_error = mean_abs_diff(*original, *high_back);
  EXPECT_GE(high_error, 0);
  EXPECT_LT(high_error, low_error);
  // A smooth gradient at quality 95 is close to the original (levels are 0..255).
  EXPECT_LT(high_error, 4.0);
}

TEST_F(ImageFile, CorruptAndMissingFilesFailNamingThePath) {
  const std::string corrupt = path("corrupt.jpg");
  std::ofstream(corrupt) << "this is not a picture, only some text in a .jpg file";
  auto read = read_image(corrupt);
  ASSERT_FALSE(read.is_ok());
  EXPECT_NE(read.status().message().find(corrupt), std::string::npos) << read.status().message();
  EXPECT_EQ(read.status().message().find('\n'), std::string::npos);

  auto missing = read_image(path("missing.png"));
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.status().message().find("missing.png"), std::string::npos);
}

TEST_F(ImageFile, WriteIntoAMissingDirectoryFailsNamingThePath) {
  const AvFramePtr original = gradient(16, 16);
  const std::string file = path("no/such/dir/x.png");
  Status written = write_image(*original, file, {});
  ASSERT_FALSE(written.is_ok());
  EXPECT_NE(written.message().find(file), std::string::npos) << written.message();
}

TEST(ImageFormatNames, ParseAndExtensions) {
  EXPECT_EQ(parse_image_format("PNG").value(), ImageFormat::kPng);
  EXPECT_EQ(parse_image_format("jpeg").value(), ImageFormat::kJpeg);
  EXPECT_EQ(parse_image_format("jpg").value(), ImageFormat::kJpeg);
  EXPECT_EQ(parse_image_format("bmp").value(), ImageFormat::kBmp);
  auto bad = parse_image_format("gif");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("gif"), std::string::npos);
  EXPECT_TRUE(is_image_file_name("a/b/Frame_01.JPG"));
  EXPECT_TRUE(is_image_file_name("x.jpeg"));
  EXPECT_TRUE(is_image_file_name("x.bmp"));
  EXPECT_FALSE(is_image_file_name("notes.txt"));
  EXPECT_FALSE(is_image_file_name("png"));
  EXPECT_FALSE(is_image_file_name("dir.png/file"));
}

}  // namespace
}  // namespace streaminfer
