#include "preprocess/letterbox.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>

extern "C" {
#include <libavutil/frame.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

namespace streaminfer {
namespace {

constexpr float kInv255 = 1.0f / 255.0f;

// Plain SWS_BILINEAR halves horizontal chroma resolution around its internal YUV step and takes
// a lower-precision path: measured 2.4 levels off on a flat BT.709 colour and up to 52 levels on
// pixel noise. These flags keep full chroma and round accurately; the GBRP output below more
// than pays for them (measured: 1.3 ms vs 2.7 ms for 1280x720 -> 640x640).
constexpr int kSwsFlags = SWS_BILINEAR | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT | SWS_FULL_CHR_H_INP;
constexpr float kPad = kLetterboxPadValue / 255.0f;

// One uint8 row -> normalized floats. Contiguous in and out, so it vectorizes even on baseline
// SSE2 (packed RGB24 would need a stride-3 shuffle that SSE2 lacks). __restrict because uint8_t
// may alias anything: otherwise the compiler must assume a float store changes the source.
void normalize_row(const uint8_t* __restrict src, int width, float* __restrict dst) {
  for (int x = 0; x < width; ++x) dst[x] = static_cast<float>(src[x]) * kInv255;
}

// Fills everything outside the resized image with the pad value, in all three planes.
void fill_padding(const LetterboxTransform& t, float* dst_chw) {
  const size_t plane = static_cast<size_t>(t.dst_width) * t.dst_height;
  const int right = t.dst_width - t.pad_left - t.resized_width;
  for (int c = 0; c < 3; ++c) {
    float* p = dst_chw + c * plane;
    std::fill_n(p, static_cast<size_t>(t.pad_top) * t.dst_width, kPad);
    for (int y = t.pad_top; y < t.pad_top + t.resized_height; ++y) {
      float* row = p + static_cast<size_t>(y) * t.dst_width;
      std::fill_n(row, t.pad_left, kPad);
      std::fill_n(row + t.pad_left + t.resized_width, right, kPad);
    }
    const int bottom_start = t.pad_top + t.resized_height;
    std::fill_n(p + static_cast<size_t>(bottom_start) * t.dst_width,
                static_cast<size_t>(t.dst_height - bottom_start) * t.dst_width, kPad);
  }
}

std::string describe(const AVFrame& f) {
  const char* name = av_get_pix_fmt_name(static_cast<AVPixelFormat>(f.format));
  return std::to_string(f.width) + "x" + std::to_string(f.height) + " " +
         (name ? name : "format " + std::to_string(f.format));
}

// Triangle filter weights along one axis for output pixel `out` (of `dst` pixels) from `src`
// input pixels: plain bilinear when enlarging, widened to the scale factor when shrinking (what
// SWS_BILINEAR and Pillow's BILINEAR do), so the reference also averages away detail that a
// 2-tap filter would alias.
void axis_weights(int out, int src, int dst, int* first, std::vector<float>* weights) {
  const double ratio = static_cast<double>(src) / dst;
  const double support = std::max(1.0, ratio);
  const double centre = (out + 0.5) * ratio;  // pixel i covers [i, i + 1)
  const int lo = std::max(0, static_cast<int>(std::floor(centre - support)));
  const int hi = std::min(src - 1, static_cast<int>(std::ceil(centre + support)));
  weights->clear();
  double total = 0;
  for (int i = lo; i <= hi; ++i) {
    const double w = std::max(0.0, 1.0 - std::abs(i + 0.5 - centre) / support);
    weights->push_back(static_cast<float>(w));
    total += w;
  }
  for (float& w : *weights) w = static_cast<float>(w / total);
  *first = lo;
}

}  // namespace

LetterboxPreprocessor::~LetterboxPreprocessor() {
  for (auto& [key, context] : contexts_) sws_freeContext(context);
}

Status LetterboxPreprocessor::run(const AVFrame& source, int dst_width, int dst_height,
                                  float* dst_chw, LetterboxTransform* transform_out) {
  if (dst_chw == nullptr || dst_width <= 0 || dst_height <= 0) {
    return Status::error("letterbox: invalid destination " + std::to_string(dst_width) + "x" +
                         std::to_string(dst_height) + " (needs a buffer and a positive size)");
  }
  if (source.width <= 0 || source.height <= 0 || source.data[0] == nullptr) {
    return Status::error("letterbox: frame " + describe(source) +
                         " holds no picture data; pass a decoded frame");
  }
  const auto format = static_cast<AVPixelFormat>(source.format);
  if (format == AV_PIX_FMT_NONE || !sws_isSupportedInput(format)) {
    return Status::error("letterbox: pixel format of frame " + describe(source) +
                         " is not supported by libswscale; download hardware frames to system "
                         "memory first (av_hwframe_transfer_data)");
  }

  const LetterboxTransform t =
      LetterboxTransform::compute(source.width, source.height, dst_width, dst_height);
  const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(format);
  const bool yuv = desc != nullptr && !(desc->flags & AV_PIX_FMT_FLAG_RGB);
  const bool full_range = source.color_range == AVCOL_RANGE_JPEG;
  // The key's format slot also carries colorspace and range (YUV only): streams with the same
  // size and format but different matrices must not share a context.
  const int colour =
      yuv ? (static_cast<int>(source.colorspace) << 12) | (static_cast<int>(full_range) << 20) : 0;
  const auto key = std::make_tuple(source.width, source.height, static_cast<int>(format) | colour,
                                   t.resized_width, t.resized_height);
  SwsContext*& context = contexts_[key];
  if (context == nullptr) {
    context = sws_getContext(source.width, source.height, format, t.resized_width, t.resized_height,
                             AV_PIX_FMT_GBRP, kSwsFlags, nullptr, nullptr, nullptr);
    if (context == nullptr) {
      contexts_.erase(key);
      return Status::error("letterbox: libswscale cannot convert frame " + describe(source) +
                           " to planar RGB " + std::to_string(t.resized_width) + "x" +
                           std::to_string(t.resized_height));
    }
    if (yuv) {
      // Honour the stream's matrix (BT.709 for most HD video; unspecified falls back to BT.601)
      // and range; yuvj* formats already set full range in the context.
      int* inv_table = nullptr;
      int* table = nullptr;
      int src_range = 0, dst_range = 0, brightness = 0, contrast = 0, saturation = 0;
      sws_getColorspaceDetails(context, &inv_table, &src_range, &table, &dst_range, &brightness,
                               &contrast, &saturation);
      sws_setColorspaceDetails(context, sws_getCoefficients(source.colorspace),
                               src_range | static_cast<int>(full_range), table, dst_range,
                               brightness, contrast, saturation);
    }
  }

  // libswscale writes planar GBRP rather than packed RGB24: about twice as fast for the same
  // values, and it makes the float conversion a contiguous per-plane loop. 64-byte row alignment
  // keeps swscale on its SIMD paths; the tail slack covers its over-writes.
  const int stride = (t.resized_width + 63) & ~63;
  const size_t plane_bytes = static_cast<size_t>(stride) * t.resized_height;
  rgb_.resize(3 * plane_bytes + 64);
  uint8_t* const g_plane = rgb_.data();
  uint8_t* const b_plane = g_plane + plane_bytes;
  uint8_t* const r_plane = b_plane + plane_bytes;
  uint8_t* dst_planes[4] = {g_plane, b_plane, r_plane, nullptr};
  const int dst_strides[4] = {stride, stride, stride, 0};
  const int rows =
      sws_scale(context, source.data, source.linesize, 0, source.height, dst_planes, dst_strides);
  if (rows != t.resized_height) {
    return Status::error("letterbox: libswscale failed on frame " + describe(source));
  }

  fill_padding(t, dst_chw);
  const size_t plane = static_cast<size_t>(dst_width) * dst_height;
  const uint8_t* const src_planes[3] = {r_plane, g_plane, b_plane};
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < t.resized_height; ++y) {
      const size_t offset = c * plane + static_cast<size_t>(t.pad_top + y) * dst_width;
      normalize_row(src_planes[c] + static_cast<size_t>(y) * stride, t.resized_width,
                    dst_chw + offset + t.pad_left);
    }
  }
  if (transform_out != nullptr) *transform_out = t;
  return Status::ok();
}

void letterbox_reference(const uint8_t* rgb, int width, int height, int stride, int dst_width,
                         int dst_height, float* dst_chw) {
  const LetterboxTransform t = LetterboxTransform::compute(width, height, dst_width, dst_height);
  const size_t plane = static_cast<size_t>(dst_width) * dst_height;
  std::fill_n(dst_chw, 3 * plane, kPad);
  std::vector<float> wx, wy;
  for (int y = 0; y < t.resized_height; ++y) {
    int y0 = 0;
    axis_weights(y, height, t.resized_height, &y0, &wy);
    for (int x = 0; x < t.resized_width; ++x) {
      int x0 = 0;
      axis_weights(x, width, t.resized_width, &x0, &wx);
      for (int c = 0; c < 3; ++c) {
        double sum = 0;
        for (size_t j = 0; j < wy.size(); ++j) {
          for (size_t i = 0; i < wx.size(); ++i) {
            const uint8_t v = rgb[static_cast<size_t>(y0 + j) * stride + (x0 + i) * 3 + c];
            sum += static_cast<double>(wy[j]) * wx[i] * v;
          }
        }
        const size_t at = static_cast<size_t>(t.pad_top + y) * dst_width + t.pad_left + x;
        dst_chw[c * plane + at] = static_cast<float>(sum / 255.0);
      }
    }
  }
}

}  // namespace streaminfer
