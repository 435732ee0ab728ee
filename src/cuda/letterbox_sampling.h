#pragma once
// Per-pixel work of the fused letterbox kernel (letterbox_kernel.cu), also run on the CPU by
// letterbox_emulated() and the tests: decoded planes (YUV420P, NV12 or packed RGB24) -> resized
// with the triangle filter that libswscale's SWS_BILINEAR and the CPU path's reference use
// (plain bilinear when enlarging, widened to the scale factor when shrinking) -> RGB -> [0, 1].
// Like libswscale with full chroma interpolation, each plane is filtered at its own resolution
// and the colour matrix is applied to the filtered values, then clamped.
#include <cstdint>

#include "cuda/host_device.h"

namespace streaminfer::cuda {

enum class PixelLayout : int32_t {
  kYuv420p = 0,  // three planes; chroma (w+1)/2 x (h+1)/2
  kNv12 = 1,     // luma plane, then one plane of interleaved U, V; chroma (w+1)/2 x (h+1)/2
  kRgb24 = 2,    // one packed plane, R G B per pixel
};

// Y'CbCr -> R'G'B' for one matrix and range, in 8-bit units (colour_coefficients()).
struct ColourCoefficients {
  float y_offset = 16.0f, y_gain = 255.0f / 219.0f, c_gain = 255.0f / 224.0f;
  float r_v = 0, g_u = 0, g_v = 0, b_u = 0;
};

// kr, kb: the matrix's luma weights (BT.601: 0.299, 0.114; BT.709: 0.2126, 0.0722; BT.2020:
// 0.2627, 0.0593). full_range: JPEG range (0-255) instead of video range (16-235, 16-240).
inline ColourCoefficients colour_coefficients(float kr, float kb, bool full_range) {
  ColourCoefficients c;
  if (full_range) {
    c.y_offset = 0.0f;
    c.y_gain = 1.0f;
    c.c_gain = 1.0f;
  }
  const float kg = 1.0f - kr - kb;
  c.r_v = 2.0f * (1.0f - kr);
  c.b_u = 2.0f * (1.0f - kb);
  c.g_u = -2.0f * kb * (1.0f - kb) / kg;
  c.g_v = -2.0f * kr * (1.0f - kr) / kg;
  return c;
}

// The matrix of FFmpeg's AVColorSpace value `colorspace` (numbers fixed by ITU-T H.273, so no
// FFmpeg header is needed here), as libswscale picks it: BT.709, BT.2020, SMPTE 240M, FCC, and
// BT.601 for the rest (unspecified included).
inline ColourCoefficients colour_for_colorspace(int colorspace, bool full_range) {
  switch (colorspace) {
    case 1:  // BT.709
      return colour_coefficients(0.2126f, 0.0722f, full_range);
    case 4:  // FCC
      return colour_coefficients(0.30f, 0.11f, full_range);
    case 7:  // SMPTE 240M
      return colour_coefficients(0.212f, 0.087f, full_range);
    case 9:   // BT.2020 non-constant luminance
    case 10:  // BT.2020 constant luminance (converted as non-constant, as libswscale does)
      return colour_coefficients(0.2627f, 0.0593f, full_range);
    default:  // BT.601 (5, 6) and unspecified
      return colour_coefficients(0.299f, 0.114f, full_range);
  }
}

struct PlaneSource {
  PixelLayout layout = PixelLayout::kYuv420p;
  const uint8_t* planes[3] = {nullptr, nullptr, nullptr};
  int32_t strides[3] = {0, 0, 0};  // bytes per row
  int32_t width = 0, height = 0;
  ColourCoefficients colour;  // YUV layouts only
};

// Where the picture goes in the model input (LetterboxTransform's numbers).
struct LetterboxGeometry {
  int32_t dst_width = 0, dst_height = 0;
  int32_t resized_width = 0, resized_height = 0;
  int32_t pad_left = 0, pad_top = 0;
};

inline constexpr float kPadLevel = 114.0f;  // Ultralytics' grey, as kLetterboxPadValue

// The taps of one output sample along one axis: source samples lo..hi, weights
// max(0, 1 - |i + 0.5 - centre| / support), divided by their sum.
struct AxisTaps {
  int32_t lo = 0, hi = 0;
  float centre = 0, inv_support = 1, inv_total = 1;
};

SI_HD float tap_weight(const AxisTaps& t, int32_t i) {
  const float d = (static_cast<float>(i) + 0.5f - t.centre) * t.inv_support;
  const float w = 1.0f - (d < 0 ? -d : d);
  return w > 0 ? w : 0.0f;
}

// centre: the output sample's centre in source samples; ratio: source samples per output sample.
SI_HD AxisTaps axis_taps(float centre, float ratio, int32_t source_length) {
  AxisTaps t;
  const float support = ratio > 1.0f ? ratio : 1.0f;
  t.centre = centre;
  t.inv_support = 1.0f / support;
  const float lo = centre - support, hi = centre + support;
  int32_t first = static_cast<int32_t>(lo);
  if (static_cast<float>(first) > lo) --first;  // floor
  int32_t last = static_cast<int32_t>(hi);
  if (static_cast<float>(last) < hi) ++last;  // ceil
  t.lo = first < 0 ? 0 : first;
  t.hi = last > source_length - 1 ? source_length - 1 : last;
  float total = 0;
  for (int32_t i = t.lo; i <= t.hi; ++i) total += tap_weight(t, i);
  t.inv_total = total > 0 ? 1.0f / total : 0.0f;
  return t;
}

// One plane's filtered value; `step` bytes between neighbouring samples of a row (1 planar,
// 2 NV12's interleaved chroma, 3 packed RGB).
SI_HD float filter_plane(const uint8_t* plane, int32_t stride, int32_t step, const AxisTaps& x,
                         const AxisTaps& y) {
  float sum = 0;
  for (int32_t j = y.lo; j <= y.hi; ++j) {
    const float wy = tap_weight(y, j);
    if (wy == 0.0f) continue;
    const uint8_t* row = plane + static_cast<int64_t>(j) * stride;
    float row_sum = 0;
    for (int32_t i = x.lo; i <= x.hi; ++i) {
      row_sum += tap_weight(x, i) * static_cast<float>(row[static_cast<int64_t>(i) * step]);
    }
    sum += wy * row_sum;
  }
  return sum * x.inv_total * y.inv_total;
}

SI_HD float clamp_level(float v) { return v < 0.0f ? 0.0f : (v > 255.0f ? 255.0f : v); }

// The three normalized channels of output pixel (x, y) of the model input.
SI_HD void letterbox_pixel(const PlaneSource& s, const LetterboxGeometry& g, int32_t x, int32_t y,
                           float rgb[3]) {
  const int32_t rx = x - g.pad_left, ry = y - g.pad_top;
  if (rx < 0 || ry < 0 || rx >= g.resized_width || ry >= g.resized_height) {
    rgb[0] = rgb[1] = rgb[2] = kPadLevel / 255.0f;
    return;
  }
  const float ratio_x = static_cast<float>(s.width) / static_cast<float>(g.resized_width);
  const float ratio_y = static_cast<float>(s.height) / static_cast<float>(g.resized_height);
  const float cx = (static_cast<float>(rx) + 0.5f) * ratio_x;
  const float cy = (static_cast<float>(ry) + 0.5f) * ratio_y;
  const AxisTaps lx = axis_taps(cx, ratio_x, s.width);
  const AxisTaps ly = axis_taps(cy, ratio_y, s.height);
  if (s.layout == PixelLayout::kRgb24) {
    for (int c = 0; c < 3; ++c) {
      rgb[c] = filter_plane(s.planes[0] + c, s.strides[0], 3, lx, ly) / 255.0f;
    }
    return;
  }
  // 4:2:0 chroma, MPEG-2 siting: a chroma sample sits on its left luma column (luma x 2k) and
  // between its two luma rows, so a luma coordinate X is X / 2 + 0.25 chroma columns and Y / 2
  // chroma rows.
  const int32_t chroma_width = (s.width + 1) / 2, chroma_height = (s.height + 1) / 2;
  const AxisTaps kx = axis_taps(cx * 0.5f + 0.25f, ratio_x * 0.5f, chroma_width);
  const AxisTaps ky = axis_taps(cy * 0.5f, ratio_y * 0.5f, chroma_height);
  const float luma = filter_plane(s.planes[0], s.strides[0], 1, lx, ly);
  float u = 0, v = 0;
  if (s.layout == PixelLayout::kNv12) {
    u = filter_plane(s.planes[1], s.strides[1], 2, kx, ky);
    v = filter_plane(s.planes[1] + 1, s.strides[1], 2, kx, ky);
  } else {
    u = filter_plane(s.planes[1], s.strides[1], 1, kx, ky);
    v = filter_plane(s.planes[2], s.strides[2], 1, kx, ky);
  }
  const ColourCoefficients& k = s.colour;
  const float yy = (luma - k.y_offset) * k.y_gain;
  const float uu = (u - 128.0f) * k.c_gain, vv = (v - 128.0f) * k.c_gain;
  rgb[0] = clamp_level(yy + k.r_v * vv) / 255.0f;
  rgb[1] = clamp_level(yy + k.g_u * uu + k.g_v * vv) / 255.0f;
  rgb[2] = clamp_level(yy + k.b_u * uu) / 255.0f;
}

}  // namespace streaminfer::cuda
