// The fused letterbox kernel's per-pixel work (cuda/letterbox_sampling.h), run on the CPU,
// against the CPU path: the plain reference (letterbox_reference, the same triangle filter) and
// the libswscale path that `run` uses.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "cuda/emulated.h"
#include "frame_planes.h"
#include "preprocess/letterbox.h"

extern "C" {
#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>
}

namespace streaminfer {
namespace {

using cuda_test::Content;

struct Size {
  int sw, sh, dw, dh;
};
// The odd sizes: 1x1 and 7x5 sources, HD and VGA to the usual model inputs.
const Size kSizes[] = {
    {1, 1, 32, 32}, {7, 5, 64, 64}, {1920, 1080, 640, 640}, {640, 480, 320, 320}};

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

std::vector<float> emulated(const AVFrame& frame, int dw, int dh) {
  const auto t = LetterboxTransform::compute(frame.width, frame.height, dw, dh);
  std::vector<float> out(3 * static_cast<size_t>(dw) * dh, -1.0f);
  cuda::letterbox_emulated(cuda_test::planes_of(frame), cuda_test::geometry_of(t), out.data());
  return out;
}

std::vector<float> cpu_path(const AVFrame& frame, int dw, int dh) {
  std::vector<float> out(3 * static_cast<size_t>(dw) * dh, -1.0f);
  LetterboxPreprocessor prep;
  EXPECT_TRUE(prep.run(frame, dw, dh, out.data(), nullptr).is_ok());
  return out;
}

TEST(CudaLetterboxEquivalence, RgbMatchesTheReferenceWithinOneLevel) {
  unsigned seed = 1;
  for (const Size& s : kSizes) {
    for (Content content : {Content::kSmooth, Content::kNoise}) {
      auto frame = cuda_test::rgb_frame(s.sw, s.sh, content, seed++);
      std::vector<float> reference(3 * static_cast<size_t>(s.dw) * s.dh, -1.0f);
      letterbox_reference(frame->data[0], s.sw, s.sh, frame->linesize[0], s.dw, s.dh,
                          reference.data());
      const Diff d = compare(emulated(*frame, s.dw, s.dh), reference);
      std::printf("[ diff   ] RGB24 %dx%d -> %dx%d (%s) vs reference: max %.4f mean %.5f levels\n",
                  s.sw, s.sh, s.dw, s.dh, content == Content::kNoise ? "noise" : "smooth",
                  d.max * 255, d.mean * 255);
      EXPECT_LE(d.max, 1.0f / 255) << s.sw << "x" << s.sh;
    }
  }
}

// Luma alone (chroma at neutral 128, so the picture is grey): the kernel's sampling is the
// libswscale path's within one level per channel on all four sizes, pixel noise included where
// the picture is enlarged (1x1, 7x5) and smooth content where it is shrunk (libswscale's
// shrinking filter differs from the triangle filter on noise by up to 16 levels, as the CPU path
// does from its own reference: tests/unit/letterbox_test.cpp).
TEST(CudaLetterboxEquivalence, LumaIsWithinOneLevelOfTheSwscalePath) {
  unsigned seed = 50;
  for (const Size& s : kSizes) {
    const bool enlarged = s.dw >= s.sw;
    for (int format : {AV_PIX_FMT_YUV420P, AV_PIX_FMT_NV12}) {
      auto rgb =
          cuda_test::rgb_frame(s.sw, s.sh, enlarged ? Content::kNoise : Content::kSmooth, seed++);
      auto yuv = cuda_test::converted(*rgb, format);
      const int chroma_planes = format == AV_PIX_FMT_NV12 ? 1 : 2;
      for (int p = 1; p <= chroma_planes; ++p) {
        std::fill_n(yuv->data[p], static_cast<size_t>(yuv->linesize[p]) * ((s.sh + 1) / 2), 128);
      }
      const Diff d = compare(emulated(*yuv, s.dw, s.dh), cpu_path(*yuv, s.dw, s.dh));
      std::printf("[ diff   ] %s luma %dx%d -> %dx%d vs libswscale path: max %.2f mean %.3f\n",
                  format == AV_PIX_FMT_NV12 ? "NV12" : "YUV420P", s.sw, s.sh, s.dw, s.dh,
                  d.max * 255, d.mean * 255);
      EXPECT_LE(d.max, 1.0f / 255) << s.sw << "x" << s.sh;
    }
  }
}

// Colour on camera-sized pictures: within 3 levels of the libswscale path (measured 2.1 at most,
// AMD EPYC; the kernel is the closer of the two to the RGB picture the frame was made from).
// Pictures of a few pixels are left out: their 4:2:0 chroma is a handful of samples that the two
// interpolate differently (tens of levels apart, each as far from the original picture).
TEST(CudaLetterboxEquivalence, ColourIsWithinThreeLevelsOfTheSwscalePath) {
  unsigned seed = 100;
  for (const Size& s : kSizes) {
    if (s.sw < 64) continue;
    for (int format : {AV_PIX_FMT_YUV420P, AV_PIX_FMT_NV12}) {
      auto rgb = cuda_test::rgb_frame(s.sw, s.sh, Content::kSmooth, seed++);
      auto yuv = cuda_test::converted(*rgb, format, /*colorspace=*/1);
      const Diff d = compare(emulated(*yuv, s.dw, s.dh), cpu_path(*yuv, s.dw, s.dh));
      std::printf("[ diff   ] %s colour %dx%d -> %dx%d vs libswscale path: max %.2f mean %.3f\n",
                  format == AV_PIX_FMT_NV12 ? "NV12" : "YUV420P", s.sw, s.sh, s.dw, s.dh,
                  d.max * 255, d.mean * 255);
      EXPECT_LE(d.max, 3.0f / 255) << s.sw << "x" << s.sh;
      EXPECT_LE(d.mean, 0.5f / 255) << s.sw << "x" << s.sh;
    }
  }
}

// On a flat colour the filter cannot matter: what is left is the matrix and the range, which
// must agree with libswscale's within one level for each matrix the kernel knows.
TEST(CudaLetterboxEquivalence, EveryMatrixAndRangeAgreesOnFlatColour) {
  for (int colorspace : {1, 2, 5, 9}) {
    for (bool full_range : {false, true}) {
      AvFramePtr f = make_av_frame();
      f->format = AV_PIX_FMT_YUV420P;
      f->width = 64;
      f->height = 48;
      f->colorspace = static_cast<AVColorSpace>(colorspace);
      f->color_range = full_range ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG;
      ASSERT_EQ(av_frame_get_buffer(f.get(), 0), 0);
      const uint8_t yuv[3] = {140, 90, 170};
      for (int p = 0; p < 3; ++p) {
        const int rows = p == 0 ? f->height : (f->height + 1) / 2;
        std::fill_n(f->data[p], static_cast<size_t>(rows) * f->linesize[p], yuv[p]);
      }
      const Diff d = compare(emulated(*f, 32, 32), cpu_path(*f, 32, 32));
      EXPECT_LE(d.max, 1.0f / 255) << "colorspace " << colorspace << " full range " << full_range
                                   << ": " << d.max * 255 << " levels";
    }
  }
}

TEST(CudaLetterboxEquivalence, PaddingIsTheCpuPathsGrey) {
  auto rgb = cuda_test::rgb_frame(1280, 720, Content::kSmooth, 7);
  auto yuv = cuda_test::converted(*rgb, AV_PIX_FMT_NV12);
  const auto out = emulated(*yuv, 640, 640);
  const auto t = LetterboxTransform::compute(1280, 720, 640, 640);
  ASSERT_GT(t.pad_top, 0);
  for (int c = 0; c < 3; ++c) {
    EXPECT_EQ(out[c * 640 * 640], kLetterboxPadValue / 255.0f);
    EXPECT_EQ(out[c * 640 * 640 + 640 * 640 - 1], kLetterboxPadValue / 255.0f);
  }
  EXPECT_TRUE(std::none_of(out.begin(), out.end(), [](float v) { return v < 0 || v > 1; }));
}

}  // namespace
}  // namespace streaminfer
