#include "streaminfer/geometry.h"

#include <gtest/gtest.h>

#include <random>

namespace streaminfer {
namespace {

TEST(GeometryTest, IouOfKnownBoxes) {
  EXPECT_FLOAT_EQ(iou({0, 0, 10, 10}, {0, 0, 10, 10}), 1.0f);
  EXPECT_FLOAT_EQ(iou({0, 0, 10, 10}, {5, 0, 15, 10}), 50.0f / 150.0f);
  EXPECT_FLOAT_EQ(iou({0, 0, 3, 1}, {1, 0, 4, 1}), 0.5f);
  EXPECT_EQ(iou({0, 0, 10, 10}, {10, 0, 20, 10}), 0.0f);  // touching edges
  EXPECT_EQ(iou({0, 0, 10, 10}, {20, 20, 30, 30}), 0.0f);
  EXPECT_EQ(iou({5, 5, 5, 5}, {5, 5, 5, 5}), 0.0f);  // degenerate: no area, no NaN
  EXPECT_EQ(iou({0, 0, 10, 10}, {3, 3, 3, 8}), 0.0f);
}

TEST(GeometryTest, LetterboxComputeMatchesUltralytics) {
  const auto t = LetterboxTransform::compute(1280, 720, 640, 640);
  EXPECT_FLOAT_EQ(t.scale, 0.5f);
  EXPECT_EQ(t.resized_width, 640);
  EXPECT_EQ(t.resized_height, 360);
  EXPECT_EQ(t.pad_left, 0);
  EXPECT_EQ(t.pad_top, 140);

  const auto portrait = LetterboxTransform::compute(720, 1280, 640, 640);
  EXPECT_EQ(portrait.resized_width, 360);
  EXPECT_EQ(portrait.resized_height, 640);
  EXPECT_EQ(portrait.pad_left, 140);
  EXPECT_EQ(portrait.pad_top, 0);

  // Odd total padding: the extra pixel goes right/bottom.
  const auto odd = LetterboxTransform::compute(100, 51, 64, 64);
  EXPECT_EQ(odd.resized_width, 64);
  EXPECT_EQ(odd.resized_height, 33);  // round(51 * 0.64) = round(32.64)
  EXPECT_EQ(odd.pad_top, 15);

  const auto thin = LetterboxTransform::compute(1, 1000, 320, 320);
  EXPECT_EQ(thin.resized_width, 1);  // at least one pixel
  EXPECT_EQ(thin.resized_height, 320);
  EXPECT_EQ(thin.pad_left, 159);
}

TEST(GeometryTest, LetterboxRoundTripWithinHalfPixel) {
  struct Case {
    int sw, sh, dw, dh;
  };
  const Case cases[] = {{1280, 720, 640, 640}, {720, 1280, 640, 640}, {640, 480, 320, 320},
                        {1, 1000, 320, 320},   {1000, 1, 320, 320},   {1920, 1080, 640, 384},
                        {333, 777, 416, 416},  {640, 640, 640, 640},  {200, 100, 1280, 1280}};
  std::mt19937 rng(7);
  for (const Case& c : cases) {
    const auto t = LetterboxTransform::compute(c.sw, c.sh, c.dw, c.dh);
    std::uniform_real_distribution<float> ux(0.0f, static_cast<float>(c.sw));
    std::uniform_real_distribution<float> uy(0.0f, static_cast<float>(c.sh));
    for (int i = 0; i < 1000; ++i) {
      float x1 = ux(rng), x2 = ux(rng), y1 = uy(rng), y2 = uy(rng);
      if (x1 > x2) std::swap(x1, x2);
      if (y1 > y2) std::swap(y1, y2);
      const Box src{x1, y1, x2, y2};
      const Box model = t.to_model(src);
      EXPECT_GE(model.x1, -0.5f);
      EXPECT_LE(model.x2, c.dw + 0.5f);
      EXPECT_GE(model.y1, -0.5f);
      EXPECT_LE(model.y2, c.dh + 0.5f);
      const Box back = t.to_source(model);
      EXPECT_NEAR(back.x1, src.x1, 0.5f) << c.sw << "x" << c.sh;
      EXPECT_NEAR(back.y1, src.y1, 0.5f) << c.sw << "x" << c.sh;
      EXPECT_NEAR(back.x2, src.x2, 0.5f) << c.sw << "x" << c.sh;
      EXPECT_NEAR(back.y2, src.y2, 0.5f) << c.sw << "x" << c.sh;
    }
  }
}

TEST(GeometryTest, ToSourceClipsToImage) {
  const auto t = LetterboxTransform::compute(1280, 720, 640, 640);
  const Box b = t.to_source({-20, 100, 700, 600});  // reaches into padding and beyond
  EXPECT_EQ(b.x1, 0.0f);
  EXPECT_EQ(b.y1, 0.0f);
  EXPECT_EQ(b.x2, 1280.0f);
  EXPECT_EQ(b.y2, 720.0f);
  const Box inside = t.to_source({100, 240, 200, 340});
  EXPECT_FLOAT_EQ(inside.x1, 200.0f);
  EXPECT_FLOAT_EQ(inside.y1, 200.0f);
  EXPECT_FLOAT_EQ(inside.x2, 400.0f);
  EXPECT_FLOAT_EQ(inside.y2, 400.0f);
}

}  // namespace
}  // namespace streaminfer
