#include "streaminfer/geometry.h"

#include <algorithm>
#include <cmath>

namespace streaminfer {

float iou(const Box& a, const Box& b) {
  const float ix1 = std::max(a.x1, b.x1);
  const float iy1 = std::max(a.y1, b.y1);
  const float ix2 = std::min(a.x2, b.x2);
  const float iy2 = std::min(a.y2, b.y2);
  const float iw = ix2 - ix1;
  const float ih = iy2 - iy1;
  if (!(iw > 0.0f && ih > 0.0f)) return 0.0f;
  const float inter = iw * ih;
  const float uni = a.area() + b.area() - inter;
  return uni > 0.0f ? inter / uni : 0.0f;
}

// Padding rule: when the total padding is odd, the extra pixel goes to the right/bottom
// (left = floor(total / 2)). This is what Ultralytics' round(d - 0.1) / round(d + 0.1) gives for
// a half-integer d, so boxes line up with models exported from it.
LetterboxTransform LetterboxTransform::compute(int src_width, int src_height, int dst_width,
                                               int dst_height) {
  LetterboxTransform t;
  t.src_width = src_width;
  t.src_height = src_height;
  t.dst_width = dst_width;
  t.dst_height = dst_height;
  if (src_width <= 0 || src_height <= 0 || dst_width <= 0 || dst_height <= 0) {
    t.resized_width = std::max(dst_width, 0);
    t.resized_height = std::max(dst_height, 0);
    return t;
  }
  // Double so that e.g. 640/1280 and the products below are exact; the stored scale is what
  // to_model/to_source use, so both directions agree whatever the rounding.
  const double scale = std::min(static_cast<double>(dst_width) / src_width,
                                static_cast<double>(dst_height) / src_height);
  const auto fit = [scale](int src, int dst) {
    const int resized = static_cast<int>(std::lround(src * scale));
    return std::clamp(resized, 1, dst);
  };
  t.scale = static_cast<float>(scale);
  t.resized_width = fit(src_width, dst_width);
  t.resized_height = fit(src_height, dst_height);
  t.pad_left = (dst_width - t.resized_width) / 2;
  t.pad_top = (dst_height - t.resized_height) / 2;
  return t;
}

Box LetterboxTransform::to_model(const Box& b) const {
  return Box{b.x1 * scale + pad_left, b.y1 * scale + pad_top, b.x2 * scale + pad_left,
             b.y2 * scale + pad_top};
}

Box LetterboxTransform::to_source(const Box& b) const {
  if (!(scale > 0.0f)) return Box{};
  const auto sx = [&](float x) {
    return std::clamp((x - pad_left) / scale, 0.0f, static_cast<float>(src_width));
  };
  const auto sy = [&](float y) {
    return std::clamp((y - pad_top) / scale, 0.0f, static_cast<float>(src_height));
  };
  return Box{sx(b.x1), sy(b.y1), sx(b.x2), sy(b.y2)};
}

}  // namespace streaminfer
