#pragma once
// A source produces decoded frames of one stream. Sources know nothing of pacing or queues: the
// pipeline's per-stream thread calls next() in a loop and paces delivery itself.
#include <memory>
#include <string>

#include "streaminfer/frame.h"
#include "streaminfer/status.h"

namespace streaminfer {

struct SourceOptions {
  int decode_threads = 2;  // FFmpeg decoder threads (0 = let FFmpeg pick)
};

struct SourceInfo {
  std::string uri;
  std::string description;  // e.g. "h264 1280x720 @ 30 fps (mp4)"
  int width = 0, height = 0;
  double fps = 0;     // nominal frame rate; 0 when unknown
  bool live = false;  // live sources drop the oldest queued frame instead of blocking
  bool has_ground_truth = false;
};

class Source {
 public:
  virtual ~Source() = default;
  // Produces the next frame into `out`. At end of stream returns ok with out == nullptr.
  // A decode error in the middle of a stream (corrupt packet) is skipped and counted, not returned;
  // an error status means the stream cannot go on (everything decoded before it was delivered).
  // The returned frame has image, pts_seconds and, for synthetic sources, ground_truth set;
  // stream_id, index and timestamps are the caller's.
  virtual Status next(FramePtr& out) = 0;
  virtual const SourceInfo& info() const = 0;
  // Packets or frames that failed to decode and were skipped.
  virtual int64_t decode_errors() const { return 0; }
  // After the end of stream: one line saying what was wrong with it (cut short, damaged packets
  // skipped), or empty when it ended cleanly.
  virtual std::string end_of_stream_problem() const { return {}; }
};

// Opens `uri`: "synthetic:?width=..&height=..&fps=..&objects=..&seed=..&frames=.." or a file path
// (any container/codec FFmpeg reads). Fails with a one-line message naming the uri.
Result<std::unique_ptr<Source>> open_source(const std::string& uri, const SourceOptions& options);

}  // namespace streaminfer
