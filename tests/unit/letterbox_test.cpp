#include "preprocess/letterbox.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

#include "streaminfer/frame.h"

extern "C" {
#include <libavutil/frame.h>
#include <libswscale/swscale.h>
}

namespace streaminfer {
namespace {

AvFramePtr rgb_frame(int width, int height) {
  AvFramePtr f = make_av_frame();
  f->format = AV_PIX_FMT_RGB24;
  f->width = width;
  f->height = height;
  EXPECT_EQ(av_frame_get_buffer(f.get(), 0), 0);
  return f;
}

// Random but smooth (random control points, bilinearly blended) plus a little noise: the kind of
// content where two bilinear resamplers should agree to within rounding.
void fill_smooth(AVFrame& f, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> level(0.0f, 255.0f);
  std::uniform_int_distribution<int> noise(-3, 3);
  constexpr int kGrid = 8;
  float grid[kGrid + 1][kGrid + 1][3];
  for (auto& row : grid) {
    for (auto& cell : row) {
      for (float& v : cell) v = level(rng);
    }
  }
  for (int y = 0; y < f.height; ++y) {
    const float gy = static_cast<float>(y) * kGrid / f.height;
    const int iy = static_cast<int>(gy);
    const float fy = gy - iy;
    for (int x = 0; x < f.width; ++x) {
      const float gx = static_cast<float>(x) * kGrid / f.width;
      const int ix = static_cast<int>(gx);
      const float fx = gx - ix;
      for (int c = 0; c < 3; ++c) {
        const float v = (1 - fy) * ((1 - fx) * grid[iy][ix][c] + fx * grid[iy][ix + 1][c]) +
                        fy * ((1 - fx) * grid[iy + 1][ix][c] + fx * grid[iy + 1][ix + 1][c]);
        f.data[0][y * f.linesize[0] + 3 * x + c] =
            static_cast<uint8_t>(std::clamp(static_cast<int>(v) + noise(rng), 0, 255));
      }
    }
  }
}

void fill_noise(AVFrame& f, unsigned seed) {
  std::mt19937 rng(seed);
  for (int y = 0; y < f.height; ++y) {
    for (int x = 0; x < 3 * f.width; ++x) f.data[0][y * f.linesize[0] + x] = rng() & 0xff;
  }
}

struct Diff {
  float max = 0;
  double mean = 0;
};
Diff compare(const std::vector<float>& a, const std::vector<float>& b) {
  Diff d;
  for (size_t i = 0; i < a.size(); ++i) {
    const float e = std::abs(a[i] - b[i]);
    d.max = std::max(d.max, e);
    d.mean += e;
  }
  d.mean /= static_cast<double>(a.size());
  return d;
}

std::vector<float> reference_of(const AVFrame& f, int dw, int dh) {
  std::vector<float> out(3 * static_cast<size_t>(dw) * dh);
  letterbox_reference(f.data[0], f.width, f.height, f.linesize[0], dw, dh, out.data());
  return out;
}

TEST(LetterboxTest, PaddingIsExactlyGrey) {
  LetterboxPreprocessor prep;
  auto f = rgb_frame(1280, 720);
  fill_noise(*f, 1);
  std::vector<float> out(3 * 640 * 640, -1.0f);
  LetterboxTransform t;
  ASSERT_TRUE(prep.run(*f, 640, 640, out.data(), &t).is_ok());
  EXPECT_EQ(t.pad_top, 140);
  EXPECT_EQ(t.resized_height, 360);
  const float grey = 114.0f / 255.0f;
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < 640; ++y) {
      const bool pad_row = y < 140 || y >= 500;
      for (int x = 0; x < 640; x += pad_row ? 1 : 97) {
        const float v = out[(c * 640 + y) * 640 + x];
        if (pad_row) {
          ASSERT_EQ(v, grey) << c << " " << y << " " << x;
        } else {
          ASSERT_GE(v, 0.0f);
          ASSERT_LE(v, 1.0f);
        }
      }
    }
  }
  // Portrait: padding columns left and right, and the reference pads the same way.
  auto p = rgb_frame(720, 1280);
  fill_noise(*p, 2);
  ASSERT_TRUE(prep.run(*p, 640, 640, out.data(), &t).is_ok());
  const auto ref = reference_of(*p, 640, 640);
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < 640; ++y) {
      for (int x : {0, 139, 500, 639}) {
        ASSERT_EQ(out[(c * 640 + y) * 640 + x], grey);
        ASSERT_EQ(ref[(c * 640 + y) * 640 + x], grey);
      }
    }
  }
}

TEST(LetterboxTest, MatchesReferenceOnRandomImages) {
  struct Case {
    int sw, sh, dw, dh;
  };
  const Case cases[] = {{1280, 720, 640, 640},
                        {640, 480, 320, 320},
                        {720, 1280, 640, 640},
                        {200, 150, 640, 640},
                        {1, 1000, 320, 320}};
  LetterboxPreprocessor prep;
  for (const Case& c : cases) {
    auto f = rgb_frame(c.sw, c.sh);
    fill_smooth(*f, 3);
    std::vector<float> out(3 * static_cast<size_t>(c.dw) * c.dh);
    ASSERT_TRUE(prep.run(*f, c.dw, c.dh, out.data(), nullptr).is_ok());
    const Diff smooth = compare(out, reference_of(*f, c.dw, c.dh));
    fill_noise(*f, 4);
    ASSERT_TRUE(prep.run(*f, c.dw, c.dh, out.data(), nullptr).is_ok());
    const Diff noise = compare(out, reference_of(*f, c.dw, c.dh));
    std::printf(
        "[ diff   ] %dx%d -> %dx%d: smooth max %.2f mean %.3f, noise max %.2f mean %.3f"
        " (in 1/255)\n",
        c.sw, c.sh, c.dw, c.dh, smooth.max * 255, smooth.mean * 255, noise.max * 255,
        noise.mean * 255);
    EXPECT_LE(smooth.max, 6.0f / 255) << c.sw << "x" << c.sh;
    EXPECT_LE(smooth.mean, 1.0f / 255) << c.sw << "x" << c.sh;
    // Pixel noise is where filter details show most. The max sits on the first/last image row,
    // where swscale replicates the border and the reference renormalizes its truncated taps.
    EXPECT_LE(noise.max, 16.0f / 255) << c.sw << "x" << c.sh;
    EXPECT_LE(noise.mean, 0.5f / 255) << c.sw << "x" << c.sh;
  }
}

AvFramePtr yuv_frame(int width, int height, uint8_t y, uint8_t u, uint8_t v) {
  AvFramePtr f = make_av_frame();
  f->format = AV_PIX_FMT_YUV420P;
  f->width = width;
  f->height = height;
  EXPECT_EQ(av_frame_get_buffer(f.get(), 0), 0);
  for (int row = 0; row < height; ++row) std::fill_n(f->data[0] + row * f->linesize[0], width, y);
  for (int row = 0; row < (height + 1) / 2; ++row) {
    std::fill_n(f->data[1] + row * f->linesize[1], (width + 1) / 2, u);
    std::fill_n(f->data[2] + row * f->linesize[2], (width + 1) / 2, v);
  }
  return f;
}

void expect_colour(const std::vector<float>& out, int dw, int dh, float r, float g, float b) {
  const size_t plane = static_cast<size_t>(dw) * dh;
  const size_t centre = static_cast<size_t>(dh / 2) * dw + dw / 2;
  EXPECT_NEAR(out[centre] * 255, r, 2.0f);
  EXPECT_NEAR(out[plane + centre] * 255, g, 2.0f);
  EXPECT_NEAR(out[2 * plane + centre] * 255, b, 2.0f);
}

TEST(LetterboxTest, Yuv420pConstantColour) {
  LetterboxPreprocessor prep;
  std::vector<float> out(3 * 320 * 320);
  // Y=120, U=100, V=160 through the standard matrices (R, G, B computed by hand).
  auto f = yuv_frame(640, 480, 120, 100, 160);
  ASSERT_TRUE(prep.run(*f, 320, 320, out.data(), nullptr).is_ok());
  expect_colour(out, 320, 320, 172.1f, 106.0f, 64.6f);  // BT.601 limited (unspecified)

  f->colorspace = AVCOL_SPC_BT709;
  ASSERT_TRUE(prep.run(*f, 320, 320, out.data(), nullptr).is_ok());
  expect_colour(out, 320, 320, 178.4f, 110.0f, 61.9f);  // BT.709 limited

  f->colorspace = AVCOL_SPC_BT470BG;
  f->color_range = AVCOL_RANGE_JPEG;
  ASSERT_TRUE(prep.run(*f, 320, 320, out.data(), nullptr).is_ok());
  expect_colour(out, 320, 320, 164.9f, 106.8f, 70.4f);  // BT.601 full range
}

TEST(LetterboxTest, Yuv420pFromRgbMatchesReference) {
  auto rgb = rgb_frame(1280, 720);
  fill_smooth(*rgb, 5);
  auto yuv = make_av_frame();
  yuv->format = AV_PIX_FMT_YUV420P;
  yuv->width = 1280;
  yuv->height = 720;
  ASSERT_EQ(av_frame_get_buffer(yuv.get(), 0), 0);
  SwsContext* to_yuv = sws_getContext(1280, 720, AV_PIX_FMT_RGB24, 1280, 720, AV_PIX_FMT_YUV420P,
                                      SWS_BILINEAR, nullptr, nullptr, nullptr);
  ASSERT_NE(to_yuv, nullptr);
  sws_scale(to_yuv, rgb->data, rgb->linesize, 0, 720, yuv->data, yuv->linesize);
  sws_freeContext(to_yuv);

  LetterboxPreprocessor prep;
  std::vector<float> out(3 * 640 * 640);
  ASSERT_TRUE(prep.run(*yuv, 640, 640, out.data(), nullptr).is_ok());
  const Diff d = compare(out, reference_of(*rgb, 640, 640));
  std::printf("[ diff   ] YUV420P 1280x720 -> 640x640 vs RGB reference: max %.2f mean %.3f\n",
              d.max * 255, d.mean * 255);
  EXPECT_LE(d.max, 16.0f / 255);  // chroma is subsampled 2x2: sharp colour edges lose detail
  EXPECT_LE(d.mean, 2.0f / 255);
}

TEST(LetterboxTest, ErrorsAreOneLine) {
  LetterboxPreprocessor prep;
  std::vector<float> out(3 * 64 * 64);
  auto empty = make_av_frame();
  empty->format = AV_PIX_FMT_RGB24;
  empty->width = 64;
  empty->height = 64;
  Status s = prep.run(*empty, 64, 64, out.data(), nullptr);
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.message().find('\n'), std::string::npos);
  EXPECT_NE(s.message().find("no picture data"), std::string::npos) << s.message();

  auto hw = rgb_frame(64, 64);
  hw->format = AV_PIX_FMT_CUDA;  // a hardware surface: libswscale cannot read it
  s = prep.run(*hw, 64, 64, out.data(), nullptr);
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("cuda"), std::string::npos) << s.message();
  hw->format = AV_PIX_FMT_RGB24;

  EXPECT_FALSE(prep.run(*hw, 0, 64, out.data(), nullptr).is_ok());
  EXPECT_FALSE(prep.run(*hw, 64, 64, nullptr, nullptr).is_ok());
  EXPECT_TRUE(prep.run(*hw, 64, 64, out.data(), nullptr).is_ok());
}

}  // namespace
}  // namespace streaminfer
