#pragma once
// Cross-stream dynamic batcher (Triton's dynamic batcher for video, DeepStream nvstreammux-like):
// a batch leaves when it holds max_batch frames, or when its oldest frame has waited max_wait,
// or when every open stream has nothing queued and no more can come (end of stream: the last
// partial batch is flushed). Streams are served round-robin, starting after the stream that was
// served first last time, so one busy stream cannot starve the others.
// Streams may join (add_stream) and leave (close_stream) while batches are taken: a service's
// cameras come and go. A closed stream's queued frames are still batched; once it is closed and
// empty it leaves the round-robin, so retired streams cost nothing per batch.
// Thread-safety: push()/close_stream()/add_stream() from any number of threads (one producer per
// stream), next_batch() from one consumer thread.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "batch/bounded_queue.h"
#include "streaminfer/frame.h"

namespace streaminfer {

struct BatcherOptions {
  int max_batch = 4;
  std::chrono::microseconds max_wait{10000};
  size_t queue_capacity = 8;  // per stream
  // Per kDropOldest (live) stream; 0: queue_capacity. A live stream's queue only decides how old
  // its frames are when they are batched (capacity / fps), so it is kept short.
  size_t live_queue_capacity = 0;
  // A service: when every stream is closed and drained, next_batch() waits for a stream to be
  // added (or shutdown()) instead of reporting the end.
  bool wait_for_new_streams = false;
};

// Queue sizes when the user sets none. A file blocks on a full queue, so its queue only smooths
// decode against inference: it holds two batches, so that one file alone can fill a batch and
// have the next one decoded while this one is inferred (with fewer than max_batch places a lone
// file's batches would leave short). A realtime stream drops its oldest frame instead: every
// queued frame adds one frame interval to the age of what gets batched, so its queue is short.
inline size_t default_file_queue_capacity(int max_batch) {
  return std::max<size_t>(8, 2 * static_cast<size_t>(std::max(max_batch, 1)));
}
inline constexpr size_t kDefaultLiveQueueCapacity = 2;

class Batcher {
 public:
  // One policy per stream (kBlock for files, kDropOldest for live sources).
  Batcher(const BatcherOptions& options, std::vector<OverflowPolicy> stream_policies);

  // Producer side. Returns false when the batcher was shut down. Sets frame->t.decode_end if 0.
  // When a kDropOldest stream's queue was full, the frame it dropped is handed to `dropped` (when
  // not null; otherwise it is freed), so that the caller can account for it (its ground truth)
  // outside the batcher's lock.
  bool push(FramePtr frame, FramePtr* dropped = nullptr);
  // No more frames will come from this stream.
  void close_stream(int stream_id);
  // A service stops: no stream will be added any more, so next_batch() ends (nullopt) once every
  // stream is closed and drained, as a batcher that never waited for new streams.
  void stop_waiting_for_new_streams();
  // Stops everything: producers unblock, next_batch() drains then returns nullopt.
  void shutdown();
  // Shuts down and discards every queued frame (a stop that must not wait for them): returns how
  // many each stream lost.
  std::vector<int64_t> abandon();
  // A new stream, with the next id (ids are never reused).
  int add_stream(OverflowPolicy policy);
  // Sets a stream's overflow policy, and with it its queue capacity, before its first frame: a
  // source that opens late learns only then whether it is live.
  void set_policy(int stream_id, OverflowPolicy policy);

  // Consumer side: blocks until a batch is ready; nullopt when every stream is closed and drained.
  // Sets frame->t.batched on each frame.
  std::optional<std::vector<FramePtr>> next_batch();

  int64_t dropped(int stream_id) const;
  size_t depth(int stream_id) const;
  int num_streams() const;

 private:
  struct StreamQueue {
    std::deque<FramePtr> frames;
    OverflowPolicy policy = OverflowPolicy::kBlock;
    size_t capacity = 1;
    bool closed = false;
    int64_t dropped = 0;
  };
  bool valid_id(int stream_id) const {  // requires mutex_
    return stream_id >= 0 && stream_id < static_cast<int>(streams_.size());
  }
  // Leaves the round-robin once closed and drained. requires mutex_
  void retire_if_done(int stream_id);
  size_t total_queued() const;        // requires mutex_
  int64_t oldest_enqueue_ns() const;  // requires mutex_, 0 when nothing queued

  size_t capacity_for(OverflowPolicy policy) const;

  BatcherOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable frame_arrived_, space_freed_;
  std::deque<StreamQueue> streams_;  // a deque: adding one moves no other
  std::vector<int> active_;          // ids not yet closed and drained, ascending
  int next_stream_ = 0;  // id to serve first in the next batch (or the first active after it)
  bool shut_down_ = false;
};

}  // namespace streaminfer
