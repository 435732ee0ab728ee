#include "pipeline/retrain_labels.h"

#include <gtest/gtest.h>

namespace streaminfer {
namespace {

// A 320x160 source letterboxed to 160x160: scale 0.5, 40 pixels of padding above and below.
Frame retrain_label_frame() {
  Frame frame;
  frame.letterbox = LetterboxTransform::compute(320, 160, 160, 160);
  frame.ground_truth = {{Box{100, 20, 200, 120}, 2},
                        {Box{-50, -50, -10, -10}, 1}};  // outside the picture: nothing to learn
  return frame;
}

TEST(RetrainLabels, GroundTruthIsMappedIntoModelPixelsAndEmptyBoxesLeftOut) {
  const auto labels = retrain_labels(retrain_label_frame(), false);
  ASSERT_EQ(labels.size(), 1u);
  const Box expected = retrain_label_frame().letterbox.to_model(Box{100, 20, 200, 120});
  EXPECT_EQ(labels[0].class_id, 2);
  EXPECT_FLOAT_EQ(labels[0].box.x1, expected.x1);
  EXPECT_FLOAT_EQ(labels[0].box.y1, expected.y1);
  EXPECT_FLOAT_EQ(labels[0].box.x2, expected.x2);
  EXPECT_FLOAT_EQ(labels[0].box.y2, expected.y2);
  EXPECT_FLOAT_EQ(labels[0].box.x1, 50);  // 100 * 0.5
  EXPECT_FLOAT_EQ(labels[0].box.y1, 50);  // 20 * 0.5 + 40
}

TEST(RetrainLabels, GeneratedLabelIsTheCentreHalfOfTheInputAsClassZero) {
  const auto labels = retrain_label_frame();
  const auto generated = retrain_labels(labels, true);
  ASSERT_EQ(generated.size(), 1u);
  EXPECT_EQ(generated[0].class_id, 0);
  EXPECT_FLOAT_EQ(generated[0].box.x1, 40);
  EXPECT_FLOAT_EQ(generated[0].box.y1, 40);
  EXPECT_FLOAT_EQ(generated[0].box.x2, 120);
  EXPECT_FLOAT_EQ(generated[0].box.y2, 120);
}

}  // namespace
}  // namespace streaminfer
