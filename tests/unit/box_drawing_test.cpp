#include "sink/box_drawing.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>

#include "sink/bitmap_font.h"
#include "streaminfer/frame.h"

extern "C" {
#include <libavutil/frame.h>
}

namespace streaminfer {
namespace {

constexpr Rgb kBackground{10, 20, 30};

AvFramePtr canvas(int width, int height, AVPixelFormat format = AV_PIX_FMT_RGB24) {
  AvFramePtr f = make_av_frame();
  f->format = format;
  f->width = width;
  f->height = height;
  EXPECT_EQ(av_frame_get_buffer(f.get(), 0), 0);
  if (format == AV_PIX_FMT_RGB24) fill_rect(*f, 0, 0, width, height, kBackground);
  return f;
}

Rgb pixel(const AVFrame& f, int x, int y) {
  const uint8_t* p = f.data[0] + y * f.linesize[0] + 3 * x;
  return {p[0], p[1], p[2]};
}

// Pixels of the rectangle x1 <= x < x2, y1 <= y < y2 that have `colour`.
int count_colour(const AVFrame& f, int x1, int y1, int x2, int y2, Rgb colour) {
  int n = 0;
  for (int y = y1; y < y2; ++y) {
    for (int x = x1; x < x2; ++x) n += pixel(f, x, y) == colour;
  }
  return n;
}

TEST(BoxDrawing, OutlineTakesTheClassColourAndLeavesTheRestAlone) {
  AvFramePtr f = canvas(200, 150);
  const Detection d{Box{50, 60, 150, 130}, 0.87f, 3};
  ASSERT_TRUE(draw_detections(*f, {d}, {"a", "b", "c", "car"}).is_ok());
  const Rgb colour = class_colour(3);
  const int t = line_thickness(200, 150);
  // Each edge, at its middle and across its whole thickness.
  for (int i = 0; i < t; ++i) {
    EXPECT_EQ(pixel(*f, 50 + i, 95), colour) << "left edge";
    EXPECT_EQ(pixel(*f, 149 - i, 95), colour) << "right edge";
    EXPECT_EQ(pixel(*f, 100, 129 - i), colour) << "bottom edge";
    EXPECT_EQ(pixel(*f, 100, 60 + i), colour) << "top edge";
  }
  // Inside the box, beyond the outline: untouched. Outside: untouched, label area aside.
  EXPECT_EQ(pixel(*f, 50 + t, 95), kBackground);
  EXPECT_EQ(pixel(*f, 100, 95), kBackground);
  EXPECT_EQ(pixel(*f, 49, 95), kBackground);
  EXPECT_EQ(pixel(*f, 150, 95), kBackground);
  EXPECT_EQ(pixel(*f, 100, 130), kBackground);
  EXPECT_EQ(pixel(*f, 10, 10), kBackground);
  EXPECT_EQ(pixel(*f, 190, 140), kBackground);
  EXPECT_EQ(count_colour(*f, 0, 0, 200, 150, kBackground) +
                count_colour(*f, 0, 0, 200, 150, colour) +
                count_colour(*f, 0, 0, 200, 150, text_colour_on(colour)),
            200 * 150)
      << "only the background, the class colour and the text colour";
}

TEST(BoxDrawing, LabelSitsAboveTheBoxWithTextInIt) {
  AvFramePtr f = canvas(200, 150);
  const Detection d{Box{50, 60, 150, 130}, 0.87f, 1};
  const std::vector<std::string> labels = {"person", "car"};
  ASSERT_TRUE(draw_detections(*f, {d}, labels).is_ok());
  EXPECT_EQ(detection_label(d, labels), "car 0.87");
  const int scale = font_scale(200, 150);
  const int width = text_width("car 0.87", scale);
  const int height = text_height(scale);
  const Rgb colour = class_colour(1);
  const Rgb ink = text_colour_on(colour);
  ASSERT_NE(ink, colour);
  // The label's area: the box's left edge, from the label's top down to the box's top.
  const int label_top = 60 - height - 2 * (scale + 1);
  ASSERT_GE(label_top, 0);
  const int ink_pixels = count_colour(*f, 50, label_top, 50 + width + 2 * (scale + 1), 60, ink);
  EXPECT_GT(ink_pixels, 8 * scale * scale) << "every glyph of 'car 0.87' has dots";
  EXPECT_GT(count_colour(*f, 50, label_top, 50 + width, 60, colour), 0) << "filled background";
  // No ink outside the label area.
  EXPECT_EQ(count_colour(*f, 0, 60, 200, 150, ink), 0);
}

TEST(BoxDrawing, BoxAtTheTopGetsItsLabelInside) {
  AvFramePtr f = canvas(120, 90);
  const Detection d{Box{10, 0, 100, 80}, 0.5f, 0};
  ASSERT_TRUE(draw_detections(*f, {d}, {"x"}).is_ok());
  const Rgb ink = text_colour_on(class_colour(0));
  EXPECT_GT(count_colour(*f, 10, 0, 100, 20, ink), 0);
}

TEST(BoxDrawing, BoxesPartlyOrWhollyOutsideAreClipped) {
  AvFramePtr f = canvas(320, 240);
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<Detection> detections = {
      {Box{-30, -20, 30, 25}, 0.9f, 0},          // over the top-left corner
      {Box{300, 200, 900, 700}, 0.8f, 1},        // over the bottom-right corner
      {Box{-1e9f, -1e9f, 1e9f, 1e9f}, 0.7f, 2},  // the whole picture and far beyond
      {Box{1000, 1000, 1100, 1100}, 0.6f, 3},    // wholly outside: nothing drawn
      {Box{-inf, 5, inf, 10}, 0.5f, 4},         {Box{nan, 5, 20, nan}, 0.4f, 5},
      {Box{30, 30, 20, 20}, 0.3f, 6},  // inverted: nothing drawn
  };
  ASSERT_TRUE(draw_detections(*f, detections, {}).is_ok());
  // The visible edges of the first box: its right edge ends at x = 29, its bottom at y = 24
  // (labels are drawn at the top, above y = 16).
  EXPECT_EQ(pixel(*f, 29, 20), class_colour(0));
  EXPECT_EQ(pixel(*f, 25, 24), class_colour(0));
  EXPECT_EQ(pixel(*f, 300, 220), class_colour(1));
  EXPECT_EQ(count_colour(*f, 0, 0, 320, 240, class_colour(3)), 0);
  EXPECT_EQ(count_colour(*f, 0, 0, 320, 240, class_colour(6)), 0);
  EXPECT_EQ(pixel(*f, 160, 120), kBackground);
}

TEST(BoxDrawing, RefusesAFrameThatIsNotRgb24) {
  AvFramePtr f = canvas(32, 32, AV_PIX_FMT_YUV420P);
  Status drawn = draw_detections(*f, {Detection{Box{1, 1, 10, 10}, 0.5f, 0}}, {});
  ASSERT_FALSE(drawn.is_ok());
  EXPECT_NE(drawn.message().find("yuv420p"), std::string::npos) << drawn.message();
}

TEST(BoxDrawing, ClassColoursDifferAndSizesScaleWithThePicture) {
  std::set<std::tuple<int, int, int>> colours;
  for (int c = 0; c < 20; ++c) {
    const Rgb rgb = class_colour(c);
    colours.insert({rgb.r, rgb.g, rgb.b});
  }
  EXPECT_EQ(colours.size(), 20u);
  EXPECT_LE(line_thickness(320, 240), line_thickness(1920, 1080));
  EXPECT_LT(line_thickness(320, 240), line_thickness(3840, 2160));
  EXPECT_LT(font_scale(320, 240), font_scale(1920, 1080));
  EXPECT_EQ(detection_label(Detection{Box{}, 0.5f, 7}, {"a"}), "class 7 0.50");
}

TEST(BitmapFont, CharactersOfLabelsHaveDistinctGlyphs) {
  const std::string chars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ ._-";
  std::set<Glyph> seen;
  for (char c : chars) {
    EXPECT_TRUE(has_glyph(c)) << c;
    seen.insert(glyph(c));
  }
  EXPECT_EQ(seen.size(), chars.size()) << "two characters share a glyph";
  for (char c = 'a'; c <= 'z'; ++c) EXPECT_EQ(glyph(c), glyph(static_cast<char>(c - 32)));
  EXPECT_FALSE(has_glyph('#'));
  EXPECT_EQ(glyph('#'), glyph('?'));
  // Only the 5 columns of a glyph are used.
  for (char c : chars) {
    for (uint8_t row : glyph(c)) EXPECT_EQ(row & ~0x1F, 0) << c;
  }
}

}  // namespace
}  // namespace streaminfer
