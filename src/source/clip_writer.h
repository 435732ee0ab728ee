#pragma once
// Encodes a synthetic camera into a video file with FFmpeg's libraries (H.264 through libx264
// when the build has it, MPEG-4 part 2 otherwise). The benchmarks need "one long encoded video"
// and the machines have no sample footage: this makes one, reproducibly, from a seed.
#include <cstdint>
#include <string>

#include "streaminfer/status.h"

namespace streaminfer {

struct ClipOptions {
  int width = 1280;
  int height = 720;
  int fps = 30;
  int64_t frames = 300;
  int objects = 6;
  uint32_t seed = 1;
  int gop = 30;       // keyframe interval, like a camera's
  int crf = 23;       // libx264 quality; MPEG-4 uses a bit rate instead
  std::string codec;  // empty: libx264, else mpeg4; or an FFmpeg encoder name
};

// Writes `path` (container from its extension: .mp4, .mkv, ...). Fails naming the path or the
// encoder when the file cannot be written.
Status write_synthetic_clip(const std::string& path, const ClipOptions& options);

// The encoder write_synthetic_clip() uses when options.codec is empty.
std::string default_clip_encoder();

}  // namespace streaminfer
