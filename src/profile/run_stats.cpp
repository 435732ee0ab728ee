#include "profile/run_stats.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <string_view>

#include "streaminfer/clock.h"

namespace streaminfer {

namespace {

constexpr size_t kSourceWidth = 40;
constexpr size_t kStatusWidth = 60;

// Moves `cut` back to the start of a UTF-8 sequence so a truncated name stays valid UTF-8.
size_t utf8_boundary(std::string_view s, size_t cut) {
  while (cut > 0 && cut < s.size() && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return cut;
}

// URIs differ at both ends (scheme and host vs file name or query), so keep both and cut the
// middle.
std::string truncate_middle(std::string_view s, size_t width) {
  if (s.size() <= width) return std::string(s);
  if (width <= 3) return std::string(s.substr(0, width));
  const size_t keep = width - 3;
  const size_t head = utf8_boundary(s, (keep + 1) / 2);
  size_t tail_start = s.size() - keep / 2;
  while (tail_start < s.size() && (static_cast<unsigned char>(s[tail_start]) & 0xC0) == 0x80) {
    ++tail_start;
  }
  return std::string(s.substr(0, head)) + "..." + std::string(s.substr(tail_start));
}

std::string truncate_end(std::string_view s, size_t width) {
  if (s.size() <= width) return std::string(s);
  if (width <= 3) return std::string(s.substr(0, width));
  return std::string(s.substr(0, utf8_boundary(s, width - 3))) + "...";
}

void append_streams(const RunStats& stats, fmt::memory_buffer& out) {
  size_t source_width = 6;  // "source"
  size_t status_width = 6;  // "status"
  for (const StreamStats& s : stats.streams) {
    source_width = std::max(source_width, std::min(s.uri.size(), kSourceWidth));
    status_width = std::max(status_width, std::min(s.status.size(), kStatusWidth));
  }
  const auto row = [&](std::string_view id, std::string_view source, std::string_view status,
                       std::string_view frames, std::string_view fps, std::string_view dropped,
                       std::string_view errors) {
    fmt::format_to(std::back_inserter(out), "{:<7} {:<{}}  {:<{}}  {:>8}  {:>7}  {:>8}  {:>6}\n",
                   id, source, source_width, status, status_width, frames, fps, dropped, errors);
  };
  row("stream", "source", "status", "frames", "fps", "dropped", "errors");

  int64_t dropped = 0, errors = 0;
  for (const StreamStats& s : stats.streams) {
    row(fmt::to_string(s.stream_id), truncate_middle(s.uri, kSourceWidth),
        truncate_end(s.status, kStatusWidth), fmt::to_string(s.frames_done),
        fmt::format("{:.1f}", s.fps(stats.wall_seconds)), fmt::to_string(s.dropped),
        fmt::to_string(s.decode_errors));
    dropped += s.dropped;
    errors += s.decode_errors;
  }
  if (stats.streams.size() > 1) {
    const double total_fps =
        stats.wall_seconds > 0 ? static_cast<double>(stats.total_frames_done()) / stats.wall_seconds
                               : 0.0;
    row("total", "", "", fmt::to_string(stats.total_frames_done()),
        fmt::format("{:.1f}", total_fps), fmt::to_string(dropped), fmt::to_string(errors));
  }

  // Not columns: most runs have none of them, and the table stays narrow.
  for (const StreamStats& s : stats.streams) {
    if (s.reconnects > 0) {
      fmt::format_to(std::back_inserter(out), "stream {} reconnected {} time(s)\n", s.stream_id,
                     s.reconnects);
    }
    if (s.skipped > 0) {
      fmt::format_to(std::back_inserter(out),
                     "stream {}: {} of {} decoded frames skipped on purpose (sampling)\n",
                     s.stream_id, s.skipped, s.frames_decoded);
    }
    if (s.non_finite_frames > 0) {
      fmt::format_to(std::back_inserter(out),
                     "stream {}: {} frame(s) whose model output held NaN or infinite values\n",
                     s.stream_id, s.non_finite_frames);
    }
    if (s.unprocessed > 0) {
      fmt::format_to(std::back_inserter(out),
                     "stream {}: {} frame(s) read but left without a result by the stop\n",
                     s.stream_id, s.unprocessed);
    }
  }
  // The table truncates; the full reason is what the user needs to fix the input.
  bool header_written = false;
  for (const StreamStats& s : stats.streams) {
    if (s.status == "ok" || s.status == "stopped") continue;
    if (!header_written) {
      fmt::format_to(std::back_inserter(out), "stream problems:\n");
      header_written = true;
    }
    fmt::format_to(std::back_inserter(out), "  stream {} ({}) {}\n", s.stream_id, s.uri, s.status);
  }
}

void append_stages(const RunStats& stats, fmt::memory_buffer& out) {
  fmt::format_to(std::back_inserter(out),
                 "{:<12} {:>8}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}  {:>5}\n", "stage", "count",
                 "mean ms", "p50 ms", "p95 ms", "p99 ms", "max ms", "busy");
  for (size_t i = 0; i < static_cast<size_t>(Stage::kCount); ++i) {
    const auto stage = static_cast<Stage>(i);
    const LatencyHistogram& h = stats.stage(stage);
    // Busy time only means something for stages that do work; waits and end-to-end have none.
    const std::string busy = stats.busy_ms[i] > 0 && stats.wall_seconds > 0
                                 ? fmt::format("{:.0f}%", busy_share(stats, stage) * 100.0)
                                 : std::string("-");
    if (h.count() == 0) {
      fmt::format_to(std::back_inserter(out),
                     "{:<12} {:>8}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}  {:>5}\n", stage_name(stage),
                     0, "-", "-", "-", "-", "-", busy);
      continue;
    }
    fmt::format_to(std::back_inserter(out),
                   "{:<12} {:>8}  {:>9.2f}  {:>9.2f}  {:>9.2f}  {:>9.2f}  {:>9.2f}  {:>5}\n",
                   stage_name(stage), h.count(), h.mean(), h.percentile(50), h.percentile(95),
                   h.percentile(99), h.max(), busy);
  }
}

void append_bottleneck(const RunStats& stats, fmt::memory_buffer& out) {
  double share = 0.0;
  const Stage best = bottleneck_stage(stats, &share);
  if (best == Stage::kCount) {
    fmt::format_to(std::back_inserter(out), "bottleneck: unknown (no stage busy time recorded)\n");
    return;
  }
  fmt::format_to(std::back_inserter(out), "bottleneck: {}, busy {:.0f}% of wall time\n",
                 stage_name(best), share * 100.0);
}

}  // namespace

double busy_share(const RunStats& stats, Stage stage) {
  if (stats.wall_seconds <= 0) return 0.0;
  return stats.busy_ms[static_cast<size_t>(stage)] / (stats.wall_seconds * 1000.0);
}

Stage bottleneck_stage(const RunStats& stats, double* share) {
  // Only stages that occupy a thread can be the bottleneck; waits are symptoms, not causes.
  constexpr Stage kWorkStages[] = {Stage::kDecode, Stage::kPreprocess, Stage::kInference,
                                   Stage::kPostprocess};
  Stage best = Stage::kCount;
  double best_share = 0.0;
  for (Stage stage : kWorkStages) {
    const double s = busy_share(stats, stage);
    if (s > best_share) {
      best_share = s;
      best = stage;
    }
  }
  if (share) *share = best_share;
  return best;
}

std::array<double, static_cast<size_t>(Stage::kCount)> frame_stage_ms(const FrameTimestamps& t) {
  std::array<double, static_cast<size_t>(Stage::kCount)> ms{};
  ms[static_cast<size_t>(Stage::kDecode)] = ms_between(t.decode_start, t.decode_end);
  ms[static_cast<size_t>(Stage::kQueueWait)] = ms_between(t.decode_end, t.batched);
  ms[static_cast<size_t>(Stage::kBatchWait)] = ms_between(t.batched, t.prep_start);
  ms[static_cast<size_t>(Stage::kPreprocess)] = ms_between(t.prep_start, t.prep_end);
  ms[static_cast<size_t>(Stage::kInference)] = ms_between(t.infer_start, t.infer_end);
  ms[static_cast<size_t>(Stage::kPostprocess)] = ms_between(t.post_start, t.post_end);
  ms[static_cast<size_t>(Stage::kEndToEnd)] = ms_between(t.decode_start, t.post_end);
  return ms;
}

const char* stage_name(Stage stage) {
  switch (stage) {
    case Stage::kDecode:
      return "decode";
    case Stage::kQueueWait:
      return "queue_wait";
    case Stage::kBatchWait:
      return "batch_wait";
    case Stage::kPreprocess:
      return "preprocess";
    case Stage::kInference:
      return "inference";
    case Stage::kPostprocess:
      return "postprocess";
    case Stage::kEndToEnd:
      return "end_to_end";
    case Stage::kCount:
      break;
  }
  return "unknown";
}

double StreamStats::fps(double wall_seconds) const {
  return wall_seconds > 0 ? static_cast<double>(frames_done) / wall_seconds : 0.0;
}

int64_t RunStats::total_frames_done() const {
  int64_t total = 0;
  for (const StreamStats& s : streams) total += s.frames_done;
  return total;
}

std::string format_stop(const StopRecord& stop) {
  std::string what;
  if (stop.phase == "start-up") {
    what = "before any frame was read";
  } else if (stop.second_cause.empty()) {
    what = "the sources were stopped and every frame already read got its result";
  } else {
    what = fmt::format("a second {} cut the drain short: {} frame(s) already read got no result",
                       stop.second_cause, stop.unprocessed);
  }
  return fmt::format("interrupted: {} at {} ({:.2f} s after start, during {}); {}\n", stop.cause,
                     stop.at_time, stop.after_s, stop.phase, what);
}

std::string format_summary(const RunStats& stats) {
  fmt::memory_buffer out;
  const int64_t frames = stats.total_frames_done();
  const double fps =
      stats.wall_seconds > 0 ? static_cast<double>(frames) / stats.wall_seconds : 0.0;
  fmt::format_to(std::back_inserter(out),
                 "== streaminfer summary: {} frames in {:.2f} s, {:.1f} FPS total, {} batches ==\n",
                 frames, stats.wall_seconds, fps, stats.batches);
  if (stats.stopped) fmt::format_to(std::back_inserter(out), "{}", format_stop(*stats.stopped));
  if (!stats.precision.empty()) {
    fmt::format_to(std::back_inserter(out), "precision: {} ({})\n", stats.precision,
                   stats.precision_why);
  }
  for (const auto& change : stats.model_changes) {
    fmt::format_to(std::back_inserter(out), "model changed {}\n", change);
  }
  append_streams(stats, out);
  fmt::format_to(std::back_inserter(out), "\n");
  append_stages(stats, out);
  append_bottleneck(stats, out);
  if (!stats.thread_plan.empty()) {
    fmt::format_to(std::back_inserter(out),
                   "{}; busy per thread: decode {:.0f}%, preprocess {:.0f}%, inference {:.0f}%, "
                   "postprocess {:.0f}%\n",
                   stats.thread_plan, 100 * busy_share(stats, Stage::kDecode),
                   100 * busy_share(stats, Stage::kPreprocess),
                   100 * busy_share(stats, Stage::kInference),
                   100 * busy_share(stats, Stage::kPostprocess));
  }
  if (stats.wall_seconds > 0) {
    fmt::format_to(std::back_inserter(out),
                   "outputs and profiling: {:.1f} ms in total, {:.2f}% of wall time\n",
                   stats.outputs_ms, 100.0 * stats.outputs_ms / (stats.wall_seconds * 1000.0));
  }
  const ThreadTime& inference = stats.inference_thread;
  if (inference.lifetime_ms > 0) {
    const double other = inference.lifetime_ms - inference.busy_ms - inference.idle_ms;
    fmt::format_to(std::back_inserter(out),
                   "inference thread: busy {:.1f}% + idle {:.1f}% + other {:.1f}% of {:.2f} s\n",
                   100.0 * inference.busy_ms / inference.lifetime_ms,
                   100.0 * inference.idle_ms / inference.lifetime_ms,
                   100.0 * other / inference.lifetime_ms, inference.lifetime_ms / 1000.0);
  }
  if (stats.retrain) fmt::format_to(std::back_inserter(out), "{}", format_retrain(*stats.retrain));
  if (stats.accuracy) {
    fmt::format_to(std::back_inserter(out), "{}", format_accuracy(*stats.accuracy));
  }
  return fmt::to_string(out);
}

}  // namespace streaminfer
