#include "source/synthetic_source.h"

#include <gtest/gtest.h>

#include <cstring>

extern "C" {
#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>
}

namespace streaminfer {
namespace {

std::unique_ptr<Source> open_or_die(const std::string& uri) {
  auto source = open_source(uri, SourceOptions{});
  EXPECT_TRUE(source) << source.status().message();
  return source ? std::move(source).value() : nullptr;
}

FramePtr next_frame(Source& source) {
  FramePtr frame;
  Status status = source.next(frame);
  EXPECT_TRUE(status) << status.message();
  return frame;
}

const uint8_t* pixel(const AVFrame* image, int x, int y) {
  return image->data[0] + static_cast<size_t>(y) * image->linesize[0] + x * 3;
}

bool same_pixel(const AVFrame* a, const AVFrame* b, int x, int y) {
  return std::memcmp(pixel(a, x, y), pixel(b, x, y), 3) == 0;
}

bool same_image(const AVFrame* a, const AVFrame* b) {
  if (a->width != b->width || a->height != b->height) return false;
  for (int y = 0; y < a->height; ++y) {
    if (std::memcmp(pixel(a, 0, y), pixel(b, 0, y), a->width * 3) != 0) return false;
  }
  return true;
}

bool same_boxes(const std::vector<GroundTruthBox>& a, const std::vector<GroundTruthBox>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].class_id != b[i].class_id || a[i].box.x1 != b[i].box.x1 ||
        a[i].box.y1 != b[i].box.y1 || a[i].box.x2 != b[i].box.x2 || a[i].box.y2 != b[i].box.y2) {
      return false;
    }
  }
  return true;
}

bool inside(const Box& box, int x, int y) {
  return x >= box.x1 && x < box.x2 && y >= box.y1 && y < box.y2;
}

bool overlaps(const Box& a, const Box& b) {
  return a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2;
}

TEST(SyntheticSourceTest, InfoAndFrameFormat) {
  auto source = open_or_die("synthetic:");
  ASSERT_TRUE(source);
  const SourceInfo& info = source->info();
  EXPECT_EQ(info.description, "synthetic 1280x720 @ 30 fps, 6 objects, seed 1");
  EXPECT_EQ(info.width, 1280);
  EXPECT_EQ(info.height, 720);
  EXPECT_DOUBLE_EQ(info.fps, 30);
  EXPECT_TRUE(info.live);
  EXPECT_TRUE(info.has_ground_truth);
  EXPECT_EQ(synthetic_num_classes(), 4);
  EXPECT_EQ(synthetic_class_names().size(), 4u);

  for (int i = 0; i < 3; ++i) {
    FramePtr frame = next_frame(*source);
    ASSERT_TRUE(frame);
    EXPECT_EQ(frame->image->format, AV_PIX_FMT_RGB24);
    EXPECT_EQ(frame->image->width, 1280);
    EXPECT_EQ(frame->image->height, 720);
    EXPECT_DOUBLE_EQ(frame->pts_seconds, i / 30.0);
  }
}

TEST(SyntheticSourceTest, SameSeedSamePixelsOtherSeedDiffers) {
  auto a = open_or_die("synthetic:?width=320&height=240&seed=5&objects=8");
  auto b = open_or_die("synthetic:?width=320&height=240&seed=5&objects=8");
  auto c = open_or_die("synthetic:?width=320&height=240&seed=6&objects=8");
  ASSERT_TRUE(a && b && c);
  for (int i = 0; i < 20; ++i) {
    FramePtr fa = next_frame(*a), fb = next_frame(*b), fc = next_frame(*c);
    ASSERT_TRUE(fa && fb && fc);
    EXPECT_TRUE(same_image(fa->image.get(), fb->image.get())) << "frame " << i;
    EXPECT_TRUE(same_boxes(fa->ground_truth, fb->ground_truth)) << "frame " << i;
    EXPECT_FALSE(same_image(fa->image.get(), fc->image.get())) << "frame " << i;
    EXPECT_FALSE(same_boxes(fa->ground_truth, fc->ground_truth)) << "frame " << i;
  }
}

TEST(SyntheticSourceTest, ObjectsMoveAndBackgroundIsTextured) {
  auto source = open_or_die("synthetic:?width=320&height=240");
  ASSERT_TRUE(source);
  FramePtr first = next_frame(*source);
  for (int i = 0; i < 9; ++i) next_frame(*source);
  FramePtr later = next_frame(*source);
  EXPECT_FALSE(same_boxes(first->ground_truth, later->ground_truth));

  auto empty = open_or_die("synthetic:?width=320&height=240&objects=0");
  FramePtr background = next_frame(*empty);
  EXPECT_TRUE(background->ground_truth.empty());
  int differing_neighbours = 0;
  for (int x = 1; x < 320; ++x) {
    if (std::memcmp(pixel(background->image.get(), x, 100),
                    pixel(background->image.get(), x - 1, 100), 3) != 0) {
      ++differing_neighbours;
    }
  }
  EXPECT_GT(differing_neighbours, 100) << "background looks flat";
}

TEST(SyntheticSourceTest, BoxesStayInsideFrameAndSomeAreClipped) {
  auto source = open_or_die("synthetic:?width=320&height=240&objects=40&seed=3");
  ASSERT_TRUE(source);
  int touching_border = 0, total = 0;
  for (int i = 0; i < 150; ++i) {
    FramePtr frame = next_frame(*source);
    ASSERT_TRUE(frame);
    for (const GroundTruthBox& gt : frame->ground_truth) {
      ++total;
      EXPECT_GE(gt.box.x1, 0);
      EXPECT_GE(gt.box.y1, 0);
      EXPECT_LE(gt.box.x2, 320);
      EXPECT_LE(gt.box.y2, 240);
      EXPECT_GT(gt.box.width(), 0);
      EXPECT_GT(gt.box.height(), 0);
      EXPECT_GE(gt.class_id, 0);
      EXPECT_LT(gt.class_id, synthetic_num_classes());
      if (gt.box.x1 == 0 || gt.box.y1 == 0 || gt.box.x2 == 320 || gt.box.y2 == 240) {
        ++touching_border;
      }
    }
  }
  EXPECT_GT(total, 0);
  EXPECT_GT(touching_border, 0) << "no object ever reached the border";
}

TEST(SyntheticSourceTest, FramesParameterEndsStream) {
  auto source = open_or_die("synthetic:?width=64&height=48&frames=7");
  ASSERT_TRUE(source);
  int count = 0;
  while (FramePtr frame = next_frame(*source)) ++count;
  EXPECT_EQ(count, 7);
  FramePtr after = next_frame(*source);
  EXPECT_FALSE(after);
}

// Every ground-truth box is the tight box of its drawn pixels: each edge row/column of the box has
// object pixels, and the ring just outside it is untouched background.
TEST(SyntheticSourceTest, GroundTruthMatchesDrawnPixels) {
  const std::string params = "width=640&height=360&seed=11";
  auto source = open_or_die("synthetic:?" + params + "&objects=10");
  auto empty = open_or_die("synthetic:?" + params + "&objects=0");
  ASSERT_TRUE(source && empty);
  FramePtr background_frame = next_frame(*empty);
  const AVFrame* bg = background_frame->image.get();
  int checked = 0, rectangles = 0;
  for (int i = 0; i < 60; ++i) {
    FramePtr frame = next_frame(*source);
    ASSERT_TRUE(frame);
    const AVFrame* image = frame->image.get();
    const auto& boxes = frame->ground_truth;
    for (size_t k = 0; k < boxes.size(); ++k) {
      const Box& box = boxes[k].box;
      bool isolated = true;
      for (size_t j = 0; j < boxes.size(); ++j) {
        if (j != k && overlaps(box, boxes[j].box)) isolated = false;
      }
      if (!isolated) continue;
      ++checked;
      const int x1 = static_cast<int>(box.x1), y1 = static_cast<int>(box.y1);
      const int x2 = static_cast<int>(box.x2), y2 = static_cast<int>(box.y2);
      auto row_has_object = [&](int y) {
        for (int x = x1; x < x2; ++x) {
          if (!same_pixel(image, bg, x, y)) return true;
        }
        return false;
      };
      auto column_has_object = [&](int x) {
        for (int y = y1; y < y2; ++y) {
          if (!same_pixel(image, bg, x, y)) return true;
        }
        return false;
      };
      EXPECT_TRUE(row_has_object(y1) && row_has_object(y2 - 1)) << "frame " << i << " box " << k;
      EXPECT_TRUE(column_has_object(x1) && column_has_object(x2 - 1))
          << "frame " << i << " box " << k;
      // The ring just outside the box, where it is inside the frame and no other box covers it.
      for (int x = x1 - 1; x <= x2; ++x) {
        for (int y : {y1 - 1, y2}) {
          if (x < 0 || y < 0 || x >= 640 || y >= 360) continue;
          bool covered = false;
          for (const auto& other : boxes) covered = covered || inside(other.box, x, y);
          if (!covered) {
            EXPECT_TRUE(same_pixel(image, bg, x, y)) << "frame " << i;
          }
        }
      }
      for (int y = y1; y < y2; ++y) {
        for (int x : {x1 - 1, x2}) {
          if (x < 0 || x >= 640) continue;
          bool covered = false;
          for (const auto& other : boxes) covered = covered || inside(other.box, x, y);
          if (!covered) {
            EXPECT_TRUE(same_pixel(image, bg, x, y)) << "frame " << i;
          }
        }
      }
      if (boxes[k].class_id == 0) {
        // A rectangle fills its box with one colour from the red family.
        ++rectangles;
        const uint8_t* centre = pixel(image, (x1 + x2) / 2, (y1 + y2) / 2);
        EXPECT_GE(centre[0], 190);
        EXPECT_LE(centre[1], 80);
        EXPECT_LE(centre[2], 80);
        for (int y = y1; y < y2; ++y) {
          for (int x = x1; x < x2; ++x) {
            ASSERT_EQ(std::memcmp(pixel(image, x, y), centre, 3), 0) << x << "," << y;
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 20);
  EXPECT_GT(rectangles, 0) << "pick a seed whose scene has a rectangle";
}

TEST(SyntheticSourceTest, BadParametersAreRejected) {
  auto bad = open_source("synthetic:?width=abc", SourceOptions{});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.status().message().find("'width'"), std::string::npos);
  EXPECT_NE(bad.status().message().find("synthetic:?width=abc"), std::string::npos);
  EXPECT_FALSE(open_source("synthetic:?objects=3&bogus=1", SourceOptions{}));
}

}  // namespace
}  // namespace streaminfer
