#pragma once
// Letterbox preprocessing: any decoded picture -> RGB, resized with aspect kept, padded with grey
// (114, like Ultralytics), normalized to [0, 1] float, planar CHW, written straight into the
// caller's slot of the batch tensor.
#include <cstdint>
#include <map>
#include <tuple>
#include <vector>

#include "streaminfer/geometry.h"
#include "streaminfer/status.h"

struct AVFrame;
struct SwsContext;

namespace streaminfer {

inline constexpr uint8_t kLetterboxPadValue = 114;

// Not thread-safe: one per preprocessing thread. Caches one libswscale context per
// (source size, pixel format, destination size).
class LetterboxPreprocessor {
 public:
  LetterboxPreprocessor() = default;
  ~LetterboxPreprocessor();
  LetterboxPreprocessor(const LetterboxPreprocessor&) = delete;
  LetterboxPreprocessor& operator=(const LetterboxPreprocessor&) = delete;

  // Writes 3 * dst_height * dst_width floats (R plane, G plane, B plane) to dst_chw.
  Status run(const AVFrame& source, int dst_width, int dst_height, float* dst_chw,
             LetterboxTransform* transform_out);

 private:
  // key: src w, src h, src format, resized w, resized h
  std::map<std::tuple<int, int, int, int, int>, SwsContext*> contexts_;
  std::vector<uint8_t> rgb_;  // resized planar RGB (GBRP) scratch
};

// Plain per-pixel reference (nearest-free bilinear on RGB24 input, no libswscale), used by tests
// to check the optimized path. Input: packed RGB24, `stride` bytes per row.
void letterbox_reference(const uint8_t* rgb, int width, int height, int stride, int dst_width,
                         int dst_height, float* dst_chw);

}  // namespace streaminfer
