#include "batch/batcher.h"

#include <algorithm>
#include <limits>

#include "streaminfer/clock.h"

namespace streaminfer {

namespace {

std::chrono::steady_clock::time_point steady_from_ns(int64_t ns) {
  return std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::nanoseconds(ns)));
}

}  // namespace

Batcher::Batcher(const BatcherOptions& options, std::vector<OverflowPolicy> stream_policies)
    : options_(options), streams_(stream_policies.size()) {
  // Degenerate options would make next_batch() spin or never fill; clamp instead of failing.
  options_.max_batch = std::max(options_.max_batch, 1);
  options_.queue_capacity = std::max<size_t>(options_.queue_capacity, 1);
  // The deadline arithmetic is in int64 ns; a day is far beyond any sensible wait.
  options_.max_wait = std::clamp(options_.max_wait, std::chrono::microseconds(0),
                                 std::chrono::microseconds(std::chrono::hours(24)));
  for (size_t i = 0; i < stream_policies.size(); ++i) {
    streams_[i].policy = stream_policies[i];
    streams_[i].capacity = capacity_for(stream_policies[i]);
    active_.push_back(static_cast<int>(i));
  }
}

int Batcher::add_stream(OverflowPolicy policy) {
  std::lock_guard lock(mutex_);
  StreamQueue& queue = streams_.emplace_back();
  queue.policy = policy;
  queue.capacity = capacity_for(policy);
  const int id = static_cast<int>(streams_.size()) - 1;
  active_.push_back(id);
  return id;
}

int Batcher::num_streams() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(streams_.size());
}

void Batcher::retire_if_done(int stream_id) {
  const StreamQueue& queue = streams_[static_cast<size_t>(stream_id)];
  if (!queue.closed || !queue.frames.empty()) return;
  const auto at = std::lower_bound(active_.begin(), active_.end(), stream_id);
  if (at != active_.end() && *at == stream_id) active_.erase(at);
}

bool Batcher::push(FramePtr frame, FramePtr* dropped) {
  if (!frame) return false;
  std::unique_lock lock(mutex_);
  if (shut_down_) return false;
  if (!valid_id(frame->stream_id)) return false;
  StreamQueue& queue = streams_[static_cast<size_t>(frame->stream_id)];
  // A closed stream promised no more frames; accepting one would break the end-of-stream flush.
  if (queue.closed) return false;
  // Stamped before any back-pressure wait so that blocking shows up as queue wait, not decode.
  if (frame->t.decode_end == 0) frame->t.decode_end = now_ns();

  if (queue.policy == OverflowPolicy::kBlock) {
    space_freed_.wait(
        lock, [&] { return shut_down_ || queue.closed || queue.frames.size() < queue.capacity; });
    if (shut_down_ || queue.closed) return false;
  } else if (queue.frames.size() >= queue.capacity) {
    if (dropped != nullptr) *dropped = std::move(queue.frames.front());
    queue.frames.pop_front();
    ++queue.dropped;
  }
  queue.frames.push_back(std::move(frame));
  frame_arrived_.notify_one();
  return true;
}

void Batcher::close_stream(int stream_id) {
  std::lock_guard lock(mutex_);
  if (!valid_id(stream_id)) return;
  streams_[static_cast<size_t>(stream_id)].closed = true;
  retire_if_done(stream_id);
  frame_arrived_.notify_all();
  space_freed_.notify_all();
}

size_t Batcher::capacity_for(OverflowPolicy policy) const {
  if (policy == OverflowPolicy::kBlock) return options_.queue_capacity;
  return options_.live_queue_capacity > 0 ? options_.live_queue_capacity : options_.queue_capacity;
}

void Batcher::set_policy(int stream_id, OverflowPolicy policy) {
  std::lock_guard lock(mutex_);
  if (!valid_id(stream_id)) return;
  StreamQueue& queue = streams_[static_cast<size_t>(stream_id)];
  queue.policy = policy;
  queue.capacity = capacity_for(policy);
}

std::vector<int64_t> Batcher::abandon() {
  std::vector<int64_t> lost;
  std::deque<FramePtr> discarded;  // freed outside the lock
  {
    std::lock_guard lock(mutex_);
    shut_down_ = true;
    for (StreamQueue& queue : streams_) {
      lost.push_back(static_cast<int64_t>(queue.frames.size()));
      for (auto& frame : queue.frames) discarded.push_back(std::move(frame));
      queue.frames.clear();
    }
    for (size_t i = 0; i < streams_.size(); ++i) retire_if_done(static_cast<int>(i));
    frame_arrived_.notify_all();
    space_freed_.notify_all();
  }
  return lost;
}

void Batcher::stop_waiting_for_new_streams() {
  std::lock_guard lock(mutex_);
  options_.wait_for_new_streams = false;
  frame_arrived_.notify_all();
}

void Batcher::shutdown() {
  std::lock_guard lock(mutex_);
  shut_down_ = true;
  frame_arrived_.notify_all();
  space_freed_.notify_all();
}

std::optional<std::vector<FramePtr>> Batcher::next_batch() {
  std::unique_lock lock(mutex_);
  const size_t max_batch = static_cast<size_t>(options_.max_batch);

  // True when the queued frames are all the batch can ever get right now: every stream is
  // either closed or at capacity (a full kBlock stream waits for us; a full kDropOldest stream
  // only replaces frames). Waiting out max_wait then would add latency and gain nothing.
  const auto cannot_grow = [&] {
    if (shut_down_) return true;
    return std::all_of(active_.begin(), active_.end(), [&](int id) {
      const StreamQueue& q = streams_[static_cast<size_t>(id)];
      return q.closed || q.frames.size() >= q.capacity;
    });
  };

  for (;;) {
    const size_t queued = total_queued();
    if (queued == 0) {
      if (shut_down_ || (active_.empty() && !options_.wait_for_new_streams)) return std::nullopt;
      frame_arrived_.wait(lock);
      continue;
    }
    if (queued >= max_batch || cannot_grow()) break;
    // Recomputed every iteration: kDropOldest may have discarded the frame we were timing.
    const int64_t deadline = oldest_enqueue_ns() + options_.max_wait.count() * 1000;
    if (now_ns() >= deadline) break;
    frame_arrived_.wait_until(lock, steady_from_ns(deadline));
  }

  std::vector<FramePtr> batch;
  batch.reserve(max_batch);
  // Round-robin over the active streams, starting at next_stream_ (or the first active id after
  // it, when that stream left).
  const size_t n = active_.size();
  const size_t start = static_cast<size_t>(
      std::lower_bound(active_.begin(), active_.end(), next_stream_) - active_.begin());
  int first_served = -1;
  bool took_any = true;
  while (batch.size() < max_batch && took_any) {
    took_any = false;
    for (size_t i = 0; i < n && batch.size() < max_batch; ++i) {
      const int s = active_[(start + i) % n];
      StreamQueue& queue = streams_[static_cast<size_t>(s)];
      if (queue.frames.empty()) continue;
      batch.push_back(std::move(queue.frames.front()));
      queue.frames.pop_front();
      if (first_served < 0) first_served = s;
      took_any = true;
    }
  }
  // Rotate past the first stream served so that a partial pass does not always favour the first.
  if (first_served >= 0) next_stream_ = first_served + 1;
  std::erase_if(active_, [&](int id) {
    const StreamQueue& q = streams_[static_cast<size_t>(id)];
    return q.closed && q.frames.empty();
  });
  space_freed_.notify_all();
  lock.unlock();

  const int64_t batched = now_ns();
  for (FramePtr& frame : batch) frame->t.batched = batched;
  return batch;
}

int64_t Batcher::dropped(int stream_id) const {
  std::lock_guard lock(mutex_);
  if (!valid_id(stream_id)) return 0;
  return streams_[static_cast<size_t>(stream_id)].dropped;
}

size_t Batcher::depth(int stream_id) const {
  std::lock_guard lock(mutex_);
  if (!valid_id(stream_id)) return 0;
  return streams_[static_cast<size_t>(stream_id)].frames.size();
}

size_t Batcher::total_queued() const {
  size_t total = 0;
  for (const int id : active_) total += streams_[static_cast<size_t>(id)].frames.size();
  return total;
}

int64_t Batcher::oldest_enqueue_ns() const {
  int64_t oldest = std::numeric_limits<int64_t>::max();
  bool any = false;
  // Per-stream queues are FIFO, so each stream's oldest frame is at its front.
  for (const int id : active_) {
    const StreamQueue& q = streams_[static_cast<size_t>(id)];
    if (q.frames.empty()) continue;
    oldest = std::min(oldest, q.frames.front()->t.decode_end);
    any = true;
  }
  return any ? oldest : 0;
}

}  // namespace streaminfer
