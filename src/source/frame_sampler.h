#pragma once
// Chooses the frames of a stream that are inferred on purpose (--every-nth, --sample-fps); the
// others are skipped right after decode and counted, never queued. Unlike drops, skips do not
// depend on load: the same file gives the same frames every run.
#include <cstdint>

namespace streaminfer {

class FrameSampler {
 public:
  // every_nth: keep frames 0, K, 2K, ... (1 = all). sample_fps: keep at most this many frames per
  // second of stream time (pts), evenly spaced (0 = no limit). Both may be set: a frame must pass
  // both.
  FrameSampler(int every_nth, double sample_fps);
  // `index` is the frame's number in the stream, `pts_seconds` its presentation time.
  bool keep(int64_t index, double pts_seconds);

 private:
  int every_nth_;
  double interval_s_;  // 0: no time-based sampling
  bool started_ = false;
  double next_due_s_ = 0;
};

}  // namespace streaminfer
