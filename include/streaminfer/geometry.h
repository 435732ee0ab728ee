#pragma once

namespace streaminfer {

// Axis-aligned box in pixel coordinates, corners (x1, y1) top-left and (x2, y2) bottom-right.
struct Box {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
  float width() const { return x2 - x1; }
  float height() const { return y2 - y1; }
  float area() const { return (x2 > x1 && y2 > y1) ? (x2 - x1) * (y2 - y1) : 0.0f; }
};

float iou(const Box& a, const Box& b);

struct Detection {
  Box box;
  float score = 0;
  int class_id = 0;
};

// One class of a classifier's output: its softmax probability over all classes.
struct ClassScore {
  int class_id = 0;
  float score = 0;
};

struct GroundTruthBox {
  Box box;
  int class_id = 0;
};

// Maps between source pixels and the model's letterboxed input (aspect kept, centred padding),
// the way Ultralytics' LetterBox does it.
struct LetterboxTransform {
  int src_width = 0, src_height = 0;
  int dst_width = 0, dst_height = 0;
  int resized_width = 0, resized_height = 0;  // the image area inside the padding
  float scale = 1.0f;
  int pad_left = 0, pad_top = 0;

  static LetterboxTransform compute(int src_width, int src_height, int dst_width, int dst_height);
  Box to_model(const Box& source_box) const;
  // Also clips to the source image.
  Box to_source(const Box& model_box) const;
};

}  // namespace streaminfer
