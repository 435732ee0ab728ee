#include "sink/box_drawing.h"

#include <fmt/format.h>

extern "C" {
#include <libavutil/frame.h>
#include <libavutil/pixdesc.h>
}

#include <algorithm>
#include <cmath>

#include "sink/bitmap_font.h"

namespace streaminfer {
namespace {

// Far beyond any picture, small enough that int arithmetic on it cannot overflow.
constexpr float kDrawCoordinateLimit = 1e6f;

int draw_pixel_of(float v) {
  return static_cast<int>(std::lround(std::clamp(v, -kDrawCoordinateLimit, kDrawCoordinateLimit)));
}

Rgb hsv_to_rgb(double h, double s, double v) {
  const double sector = h * 6.0;
  const int i = static_cast<int>(sector) % 6;
  const double f = sector - std::floor(sector);
  const double p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  double r = 0, g = 0, b = 0;
  switch (i) {
    case 0:
      r = v, g = t, b = p;
      break;
    case 1:
      r = q, g = v, b = p;
      break;
    case 2:
      r = p, g = v, b = t;
      break;
    case 3:
      r = p, g = q, b = v;
      break;
    case 4:
      r = t, g = p, b = v;
      break;
    default:
      r = v, g = p, b = q;
      break;
  }
  const auto byte = [](double x) { return static_cast<uint8_t>(std::lround(x * 255.0)); };
  return {byte(r), byte(g), byte(b)};
}

// Whether any pixel of the box lies inside the picture (NaN corners: no).
bool box_visible(const Box& box, int width, int height) {
  if (std::isnan(box.x1) || std::isnan(box.y1) || std::isnan(box.x2) || std::isnan(box.y2)) {
    return false;
  }
  const int left = std::max(draw_pixel_of(box.x1), 0), top = std::max(draw_pixel_of(box.y1), 0);
  const int right = std::min(draw_pixel_of(box.x2), width),
            bottom = std::min(draw_pixel_of(box.y2), height);
  return left < right && top < bottom;
}

}  // namespace

Rgb class_colour(int class_id) {
  constexpr double kGoldenRatioConjugate = 0.6180339887498949;
  const double hue = std::fmod(0.02 + std::abs(class_id) * kGoldenRatioConjugate, 1.0);
  return hsv_to_rgb(hue, 0.85, 0.95);
}

Rgb text_colour_on(Rgb background) {
  // Rec. 601 luma: above the middle grey, black text reads better.
  const int luma = (299 * background.r + 587 * background.g + 114 * background.b) / 1000;
  return luma > 140 ? Rgb{0, 0, 0} : Rgb{255, 255, 255};
}

int line_thickness(int width, int height) {
  return std::max(2, static_cast<int>(std::lround((width + height) / 2.0 * 0.003)));
}

int font_scale(int /*width*/, int height) {
  return std::max(1, static_cast<int>(std::lround(height / 360.0)));
}

std::string detection_label(const Detection& detection, const std::vector<std::string>& labels) {
  const bool named = detection.class_id >= 0 &&
                     static_cast<size_t>(detection.class_id) < labels.size() &&
                     !labels[static_cast<size_t>(detection.class_id)].empty();
  const std::string name = named ? labels[static_cast<size_t>(detection.class_id)]
                                 : fmt::format("class {}", detection.class_id);
  return fmt::format("{} {:.2f}", name, detection.score);
}

void fill_rect(AVFrame& rgb24, int x1, int y1, int x2, int y2, Rgb colour) {
  x1 = std::max(x1, 0);
  y1 = std::max(y1, 0);
  x2 = std::min(x2, rgb24.width);
  y2 = std::min(y2, rgb24.height);
  for (int y = y1; y < y2; ++y) {
    uint8_t* row = rgb24.data[0] + static_cast<ptrdiff_t>(y) * rgb24.linesize[0];
    for (int x = x1; x < x2; ++x) {
      row[3 * x] = colour.r;
      row[3 * x + 1] = colour.g;
      row[3 * x + 2] = colour.b;
    }
  }
}

void draw_box_outline(AVFrame& rgb24, const Box& box, Rgb colour, int thickness) {
  if (!box_visible(box, rgb24.width, rgb24.height)) return;
  const int left = draw_pixel_of(box.x1), top = draw_pixel_of(box.y1);
  const int right = draw_pixel_of(box.x2), bottom = draw_pixel_of(box.y2);  // exclusive
  const int t = std::max(1, thickness);
  fill_rect(rgb24, left, top, right, std::min(top + t, bottom), colour);
  fill_rect(rgb24, left, std::max(bottom - t, top), right, bottom, colour);
  fill_rect(rgb24, left, top, std::min(left + t, right), bottom, colour);
  fill_rect(rgb24, std::max(right - t, left), top, right, bottom, colour);
}

int text_width(std::string_view text, int scale) {
  if (text.empty()) return 0;
  const int n = static_cast<int>(text.size());
  return (n * (kGlyphWidth + kGlyphSpacing) - kGlyphSpacing) * scale;
}

int text_height(int scale) { return kGlyphHeight * scale; }

void draw_text(AVFrame& rgb24, int x, int y, std::string_view text, Rgb colour, int scale) {
  for (char c : text) {
    const Glyph& rows = glyph(c);
    for (int gy = 0; gy < kGlyphHeight; ++gy) {
      for (int gx = 0; gx < kGlyphWidth; ++gx) {
        if (!(rows[gy] & (0x10 >> gx))) continue;
        const int px = x + gx * scale, py = y + gy * scale;
        fill_rect(rgb24, px, py, px + scale, py + scale, colour);
      }
    }
    x += (kGlyphWidth + kGlyphSpacing) * scale;
    if (x >= rgb24.width) break;
  }
}

Status draw_detections(AVFrame& rgb24, const std::vector<Detection>& detections,
                       const std::vector<std::string>& labels) {
  if (rgb24.format != AV_PIX_FMT_RGB24) {
    const char* name = av_get_pix_fmt_name(static_cast<AVPixelFormat>(rgb24.format));
    return Status::error(fmt::format("drawing boxes needs an rgb24 picture, not {}",
                                     name ? name : "an unknown pixel format"));
  }
  const int thickness = line_thickness(rgb24.width, rgb24.height);
  const int scale = font_scale(rgb24.width, rgb24.height);
  const int pad = scale + 1;
  // Outlines first, labels after: a label stays readable over a neighbouring box's outline.
  for (const Detection& d : detections) {
    draw_box_outline(rgb24, d.box, class_colour(d.class_id), thickness);
  }
  for (const Detection& d : detections) {
    if (!box_visible(d.box, rgb24.width, rgb24.height)) continue;
    const std::string text = detection_label(d, labels);
    const Rgb background = class_colour(d.class_id);
    const int w = text_width(text, scale) + 2 * pad;
    const int h = text_height(scale) + 2 * pad;
    const int x = std::clamp(draw_pixel_of(d.box.x1), 0, std::max(0, rgb24.width - w));
    int y = draw_pixel_of(d.box.y1) - h;
    if (y < 0) y = std::max(0, draw_pixel_of(d.box.y1));  // no room above: inside the box's top
    fill_rect(rgb24, x, y, x + w, y + h, background);
    draw_text(rgb24, x + pad, y + pad, text, text_colour_on(background), scale);
  }
  return Status::ok();
}

}  // namespace streaminfer
