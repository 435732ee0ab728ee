#include "frame_planes.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

extern "C" {
#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>
#include <libswscale/swscale.h>
}

namespace streaminfer::cuda_test {

AvFramePtr rgb_frame(int width, int height, Content content, unsigned seed) {
  AvFramePtr f = make_av_frame();
  f->format = AV_PIX_FMT_RGB24;
  f->width = width;
  f->height = height;
  EXPECT_EQ(av_frame_get_buffer(f.get(), 0), 0);
  std::mt19937 rng(seed);
  if (content == Content::kNoise) {
    for (int y = 0; y < height; ++y) {
      for (int x = 0; x < 3 * width; ++x) f->data[0][y * f->linesize[0] + x] = rng() & 0xff;
    }
    return f;
  }
  std::uniform_real_distribution<float> level(0.0f, 255.0f);
  constexpr int kGrid = 6;
  float grid[kGrid + 1][kGrid + 1][3];
  for (auto& row : grid) {
    for (auto& cell : row) {
      for (float& v : cell) v = level(rng);
    }
  }
  for (int y = 0; y < height; ++y) {
    const float gy = static_cast<float>(y) * kGrid / height;
    const int iy = static_cast<int>(gy);
    const float fy = gy - iy;
    for (int x = 0; x < width; ++x) {
      const float gx = static_cast<float>(x) * kGrid / width;
      const int ix = static_cast<int>(gx);
      const float fx = gx - ix;
      for (int c = 0; c < 3; ++c) {
        const float v = (1 - fy) * ((1 - fx) * grid[iy][ix][c] + fx * grid[iy][ix + 1][c]) +
                        fy * ((1 - fx) * grid[iy + 1][ix][c] + fx * grid[iy + 1][ix + 1][c]);
        f->data[0][y * f->linesize[0] + 3 * x + c] =
            static_cast<uint8_t>(std::clamp(static_cast<int>(v + 0.5f), 0, 255));
      }
    }
  }
  return f;
}

AvFramePtr converted(const AVFrame& rgb, int av_pixel_format, int colorspace, bool full_range) {
  AvFramePtr f = make_av_frame();
  f->format = av_pixel_format;
  f->width = rgb.width;
  f->height = rgb.height;
  f->colorspace = static_cast<AVColorSpace>(colorspace);
  f->color_range = full_range ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG;
  EXPECT_EQ(av_frame_get_buffer(f.get(), 0), 0);
  SwsContext* sws = sws_getContext(rgb.width, rgb.height, AV_PIX_FMT_RGB24, rgb.width, rgb.height,
                                   static_cast<AVPixelFormat>(av_pixel_format),
                                   SWS_BILINEAR | SWS_ACCURATE_RND, nullptr, nullptr, nullptr);
  int* inv_table = nullptr;
  int* table = nullptr;
  int src_range = 0, dst_range = 0, brightness = 0, contrast = 0, saturation = 0;
  sws_getColorspaceDetails(sws, &inv_table, &src_range, &table, &dst_range, &brightness, &contrast,
                           &saturation);
  sws_setColorspaceDetails(sws, inv_table, src_range, sws_getCoefficients(colorspace),
                           full_range ? 1 : 0, brightness, contrast, saturation);
  sws_scale(sws, rgb.data, rgb.linesize, 0, rgb.height, f->data, f->linesize);
  sws_freeContext(sws);
  return f;
}

cuda::PlaneSource planes_of(const AVFrame& frame) {
  cuda::PlaneSource s;
  s.width = frame.width;
  s.height = frame.height;
  for (int i = 0; i < 3; ++i) {
    s.planes[i] = frame.data[i];
    s.strides[i] = frame.linesize[i];
  }
  switch (frame.format) {
    case AV_PIX_FMT_NV12:
      s.layout = cuda::PixelLayout::kNv12;
      break;
    case AV_PIX_FMT_RGB24:
      s.layout = cuda::PixelLayout::kRgb24;
      break;
    default:
      s.layout = cuda::PixelLayout::kYuv420p;
  }
  s.colour = cuda::colour_for_colorspace(frame.colorspace, frame.color_range == AVCOL_RANGE_JPEG);
  return s;
}

cuda::LetterboxGeometry geometry_of(const LetterboxTransform& t) {
  cuda::LetterboxGeometry g;
  g.dst_width = t.dst_width;
  g.dst_height = t.dst_height;
  g.resized_width = t.resized_width;
  g.resized_height = t.resized_height;
  g.pad_left = t.pad_left;
  g.pad_top = t.pad_top;
  return g;
}

}  // namespace streaminfer::cuda_test
