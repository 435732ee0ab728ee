#include "source/frame_sampler.h"

namespace streaminfer {

namespace {
// Timestamps are rounded by containers (1/90000 s ticks, ms in mkv): a frame that is due
// "now" must not be skipped for a microsecond.
constexpr double kPtsSlack = 1e-4;
}  // namespace

FrameSampler::FrameSampler(int every_nth, double sample_fps)
    : every_nth_(every_nth > 1 ? every_nth : 1),
      interval_s_(sample_fps > 0 ? 1.0 / sample_fps : 0.0) {}

bool FrameSampler::keep(int64_t index, double pts_seconds) {
  if (index % every_nth_ != 0) return false;
  if (interval_s_ <= 0) return true;
  // How far before its slot this frame is: negative when the slot has passed. A timestamp far
  // before the slot means the clock restarted (a camera reconnected, a looped file), and one far
  // after it means frames stopped for a while: either way the schedule restarts from this frame
  // instead of skipping until the clocks agree.
  const double early_s = next_due_s_ - pts_seconds;
  const bool on_schedule = started_ && early_s > -interval_s_ && early_s <= 2 * interval_s_;
  if (on_schedule && early_s > kPtsSlack) return false;
  next_due_s_ = (on_schedule ? next_due_s_ : pts_seconds) + interval_s_;
  started_ = true;
  return true;
}

}  // namespace streaminfer
