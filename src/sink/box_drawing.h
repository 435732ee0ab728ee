#pragma once
// Detections drawn into a picture: a rectangle outline per box and, above it, a filled label
// with "label 0.87" in the built-in 5x7 font, one colour per class. Works on packed RGB24 frames
// (what image_file.h's to_rgb24() gives), so an annotated-image or -video sink can reuse it.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "streaminfer/geometry.h"
#include "streaminfer/status.h"

struct AVFrame;

namespace streaminfer {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb&) const = default;
};

// A bright colour per class, far from its neighbours' (hues spaced by the golden ratio), so boxes
// of nearby class ids are told apart.
Rgb class_colour(int class_id);
// Black or white, whichever reads better on `background`.
Rgb text_colour_on(Rgb background);

// Sizes that scale with the picture: the outline's width in pixels (2 at 640x480, 3 at 1280x720)
// and the font's dot size in pixels (1 up to about 540 px high, 2 at 720p, 3 at 1080p).
int line_thickness(int width, int height);
int font_scale(int width, int height);

// "person 0.87"; "class 7 0.87" when the class has no label.
std::string detection_label(const Detection& detection, const std::vector<std::string>& labels);

// Every function below draws into a packed RGB24 frame and clips to it: any box or position,
// however far outside the picture (or NaN), draws only what falls inside.

// Fills the pixels x1 <= x < x2, y1 <= y < y2.
void fill_rect(AVFrame& rgb24, int x1, int y1, int x2, int y2, Rgb colour);
// The outline of `box` (float corners rounded to pixels), `thickness` pixels wide, inside the
// box's edges.
void draw_box_outline(AVFrame& rgb24, const Box& box, Rgb colour, int thickness);
// Pixels the text takes: width for `text`, height for any text.
int text_width(std::string_view text, int scale);
int text_height(int scale);
// Text with its top-left corner at (x, y), each font dot `scale` x `scale` pixels.
void draw_text(AVFrame& rgb24, int x, int y, std::string_view text, Rgb colour, int scale);

// Draws every detection (boxes in the frame's pixels): outline, then the label on a filled
// background just above the box's top-left corner (inside the box when the box touches the top
// of the picture). Fails when the frame is not RGB24.
Status draw_detections(AVFrame& rgb24, const std::vector<Detection>& detections,
                       const std::vector<std::string>& labels);

}  // namespace streaminfer
