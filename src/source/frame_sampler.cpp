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
  if (started_ && pts_seconds + kPtsSlack < next_due_s_) {
    // A timestamp far before the schedule means the clock restarted (a camera reconnected, a
    // looped file): follow the new clock instead of skipping until it catches up.
    if (next_due_s_ - pts_seconds <= 2 * interval_s_) return false;
  }
  // Keep to the schedule while frames arrive on time; after a gap, restart it from this frame.
  const bool on_schedule = started_ && pts_seconds - next_due_s_ < interval_s_ &&
                           next_due_s_ - pts_seconds <= 2 * interval_s_;
  next_due_s_ = (on_schedule ? next_due_s_ : pts_seconds) + interval_s_;
  started_ = true;
  return true;
}

}  // namespace streaminfer
