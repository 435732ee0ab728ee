#pragma once
// The options of a synthetic camera, from its URI. Apart from the source itself so that what reads
// user input is built and tested (fuzzed) without FFmpeg.
#include <cstdint>
#include <string>

#include "streaminfer/status.h"

namespace streaminfer {

struct SyntheticParams {
  int width = 1280;
  int height = 720;
  double fps = 30;
  int objects = 6;
  uint32_t seed = 1;
  int64_t frames = 0;  // 0 = unlimited
};

// Parses "synthetic:?width=..&height=..&fps=..&objects=..&seed=..&frames=.." (all optional).
Result<SyntheticParams> parse_synthetic_uri(const std::string& uri);

}  // namespace streaminfer
