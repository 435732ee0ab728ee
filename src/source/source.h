#pragma once
// A source produces decoded frames of one stream. Sources know nothing of pacing or queues: the
// pipeline's per-stream thread calls next() in a loop and paces delivery itself.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "streaminfer/frame.h"
#include "streaminfer/status.h"

namespace streaminfer {

struct SourceOptions {
  int decode_threads = 2;  // FFmpeg decoder threads (0 = let FFmpeg pick)
  // Files and network streams: "cuda" decodes with NVDEC (source/hw_decode.h) where it can;
  // "none" (or empty) on the CPU.
  std::string hwdec = "none";
  // Live sources: no packet for this long means the camera stalled (also the open timeout).
  double stall_timeout_s = 10;
  // Live sources: re-opens after a drop before the stream is reported failed; -1 = unlimited.
  int max_reconnects = -1;
  // Live sources: the wait before the first re-open, doubled after each failed one up to the cap.
  double reconnect_backoff_s = 0.5;
  double reconnect_backoff_max_s = 8;
  // When set and true, opening (and any later blocking I/O) gives up at once: a stop must not
  // wait out a camera that does not answer. Not owned; outlives the source.
  const std::atomic<bool>* cancel = nullptr;
};

struct SourceInfo {
  std::string uri;
  std::string description;  // e.g. "h264 1280x720 @ 30 fps (mp4)"
  int width = 0, height = 0;
  double fps = 0;     // nominal frame rate; 0 when unknown
  bool live = false;  // live sources drop the oldest queued frame instead of blocking
  // The source delivers frames at its own rate (a camera, a network stream): the pipeline must
  // not pace it, or frames would pile up in socket buffers when the stated fps is wrong.
  bool self_paced = false;
  bool has_ground_truth = false;
  // One line for the user about how the stream runs when it is not what was asked (e.g. --hwdec
  // cuda without a GPU: decoded on the CPU, and why); empty otherwise.
  std::string warning;
  // With ground truth: the name of each class id its boxes use (for the accuracy report).
  std::vector<std::string> ground_truth_classes;
};

class Source {
 public:
  virtual ~Source() = default;
  // Produces the next frame into `out`. At end of stream returns ok with out == nullptr.
  // A decode error in the middle of a stream (corrupt packet) is skipped and counted, not returned;
  // an error status means the stream cannot go on (everything decoded before it was delivered).
  // The returned frame has image, pts_seconds and, for synthetic sources, ground_truth set;
  // stream_id, index and timestamps are the caller's, except that a live source sets
  // t.decode_start to when the frame's data arrived.
  virtual Status next(FramePtr& out) = 0;
  virtual const SourceInfo& info() const = 0;
  // Packets or frames that failed to decode and were skipped.
  virtual int64_t decode_errors() const { return 0; }
  // After the end of stream: one line saying what was wrong with it (cut short, damaged packets
  // skipped), or empty when it ended cleanly.
  virtual std::string end_of_stream_problem() const { return {}; }
  // Makes a next() blocked on I/O (or a reconnect wait) return soon with the end of stream.
  // Safe from any thread; later calls of next() also end the stream.
  virtual void interrupt() {}
  // Live sources: "reconnecting" while the stream is down and being re-opened, else empty. Safe
  // from any thread.
  virtual std::string state() const { return {}; }
  // Live sources: times the stream dropped and was opened again.
  virtual int64_t reconnects() const { return 0; }
};

// Opens `uri`: "synthetic:?width=..&height=..&fps=..&objects=..&seed=..&frames=..", a file path
// (any container/codec FFmpeg reads), or a live source (rtsp/http(s) URL, /dev/videoN), which
// reconnects after drops and stalls. Fails with a one-line message naming the uri.
Result<std::unique_ptr<Source>> open_source(const std::string& uri, const SourceOptions& options);

}  // namespace streaminfer
