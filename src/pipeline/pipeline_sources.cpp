// The pipeline's streams: opening every source side by side (a camera that does not answer holds
// only its own stream), then one thread per stream that decodes, paces and queues its frames.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <system_error>
#include <thread>

#include "common/console.h"
#include "pipeline/pipeline_impl.h"
#include "profile/nvtx.h"
#include "source/frame_sampler.h"
#include "streaminfer/clock.h"

namespace streaminfer {

Pipeline::Impl::Stream& Pipeline::Impl::create_stream(const StreamSpec& spec) {
  auto owned = std::make_unique<Stream>();
  Stream& stream = *owned;
  stream.uri = spec.uri;
  stream.given_name = spec.name;
  stream.info.uri = spec.uri;
  stream.every_nth = spec.every_nth > 0 ? spec.every_nth : options.every_nth;
  stream.sample_fps = spec.sample_fps >= 0 ? spec.sample_fps : options.sample_fps;
  stream.open_start_ns = now_ns();
  streams.add(std::move(owned));
  stream.name = spec.name.empty() ? fmt::format("stream-{}", stream.id) : spec.name;
  // The same id: both add in order, under lifecycle_mutex. Its policy is set when it opens (a
  // live source drops its oldest frame).
  batcher->add_stream(OverflowPolicy::kBlock);
  {
    std::lock_guard lock(stats_mutex);
    StreamStats& row = stats.streams.emplace_back();
    row.stream_id = stream.id;
    row.uri = stream.uri;
  }
  if (!stop.load()) {
    SourceOptions source_options = options.source_options;
    source_options.cancel = &stream.cancel;
    try {
      stream.opening = std::async(std::launch::async, [uri = stream.uri, source_options] {
        return open_source(uri, source_options);
      });
    } catch (const std::system_error& e) {
      fail_to_start(stream, e.what());
    }
  }
  return stream;
}

void Pipeline::Impl::fail_to_start(Stream& stream, const std::string& why) {
  batcher->close_stream(stream.id);
  stream.ended.store(true);
  std::lock_guard lock(stats_mutex);
  stream.status = "failed: no thread for it (" + why + ")";
  std::fprintf(stderr, "streaminfer: error: stream %d: %s\n", stream.id, stream.status.c_str());
}

Status Pipeline::Impl::open_all() {
  if (stop_request->requested()) stop.store(true);
  BatcherOptions batcher_options = options.batcher;
  batcher_options.wait_for_new_streams = options.service;
  batcher = std::make_unique<Batcher>(batcher_options, std::vector<OverflowPolicy>{});
  {
    std::lock_guard lock(lifecycle_mutex);
    for (const auto& spec : options.sources) create_stream(spec);
  }
  const auto deadline = std::chrono::steady_clock::now() + kOpenGrace;
  int opened = 0, pending = 0;
  for (size_t i = 0; i < streams.size(); ++i) {
    Stream& stream = *streams[i];
    if (!stream.opening.valid()) {
      stream.status = "stopped before it opened";
      stream.info.description = "not opened: stopped";
      continue;
    }
    if (stream.opening.wait_until(deadline) != std::future_status::ready) {
      ++pending;
      stream.info.description = fmt::format(
          "opening: no answer yet; the other streams go on, this one joins when it opens or "
          "fails after --stall-timeout {:g} s",
          options.source_options.stall_timeout_s);
      continue;
    }
    if (adopt(static_cast<int>(i), stream.opening.get(), /*late=*/false)) ++opened;
  }
  // A service runs with no stream at all: cameras are added, or come back, while it runs.
  if (!options.service && opened == 0 && pending == 0 && !stop.load()) {
    return Status::error(fmt::format("none of the {} source(s) could be opened, nothing to run",
                                     options.sources.size()));
  }
  return Status::ok();
}

void Pipeline::Impl::start_stream_thread(Stream& stream) {
  if (!stream.opening.valid() && !stream.ready.load()) return;  // failed to start already
  sources_running.fetch_add(1);
  const int id = stream.id;
  try {
    stream.thread = std::thread([this, id] { source_loop(id); });
  } catch (const std::system_error& e) {
    sources_running.fetch_sub(1);
    fail_to_start(stream, e.what());
  }
}

void Pipeline::Impl::reap_ended_streams() {
  std::lock_guard lock(lifecycle_mutex);
  for (const auto& stream : streams) {
    if (!stream->ended.load()) continue;
    if (stream->thread.joinable()) stream->thread.join();
    release_source(*stream);
  }
}

void Pipeline::Impl::release_source(Stream& stream) {
  // `ended` is the stream thread's last act: it no longer touches the source (even when run()
  // took the thread to join it).
  if (!options.service || !stream.source || !stream.ended.load() || stream.thread.joinable()) {
    return;
  }
  stream.kept_reconnects.store(stream.source->reconnects());
  stream.kept_decode_errors.store(stream.source->decode_errors());
  stream.source.reset();
}

bool Pipeline::Impl::adopt(int id, Result<std::unique_ptr<Source>> opened, bool late) {
  Stream& stream = *streams[static_cast<size_t>(id)];
  if (!opened) {
    std::lock_guard lock(stats_mutex);
    if (stream.removed.load()) {
      stream.status = "removed";
      stream.info.description = "not opened: removed";
      return false;
    }
    if (stop.load()) {
      stream.status = "stopped before it opened";
      stream.info.description = "not opened: stopped";
      return false;
    }
    stream.status = "failed: " + opened.status().message();
    stream.info.description = "failed to open";
    std::fprintf(stderr, "streaminfer: error: stream %d: %s\n", id,
                 opened.status().message().c_str());
    return false;
  }
  stream.source = std::move(opened.value());
  stream.info = stream.source->info();
  if (!stream.info.warning.empty()) {
    std::fprintf(stderr, "streaminfer: warning: stream %d: %s\n", id, stream.info.warning.c_str());
  }
  stream.realtime =
      options.pace == PaceMode::kRealtime || (options.pace == PaceMode::kAuto && stream.info.live);
  // A camera is its own clock; pacing it by a stated fps that is wrong would pile frames up.
  stream.paced = stream.realtime && !stream.info.self_paced;
  batcher->set_policy(id, stream.realtime ? OverflowPolicy::kDropOldest : OverflowPolicy::kBlock);
  stream.ready.store(true, std::memory_order_release);
  if (late) {
    std::fprintf(info_out(), "stream %d: %s [%s], opened after %.1f s\n", id, stream.uri.c_str(),
                 stream.info.description.c_str(), ns_to_ms(now_ns() - stream.open_start_ns) / 1000);
    std::fflush(info_out());
  }
  return true;
}

void Pipeline::Impl::wait_for_opens() {
  for (auto& stream : streams) {
    if (stream->opening.valid()) stream->opening.wait();
  }
}

void Pipeline::Impl::source_loop(int id) {
  Stream& stream = *streams[static_cast<size_t>(id)];
  if (!stream.ready.load(std::memory_order_acquire)) {
    // Still opening: only this stream waits for it (the open gives up at a stop).
    if (!stream.opening.valid() || !adopt(id, stream.opening.get(), /*late=*/true)) {
      batcher->close_stream(id);
      leave_running();
      stream.ended.store(true);
      return;
    }
  }
  const int64_t start = now_ns();
  const double fps = stream.info.fps > 0 ? stream.info.fps : 30.0;
  FrameSampler sampler(stream.every_nth, stream.sample_fps);
  int64_t index = 0;
  bool reached_end = false;
  while (!stop.load() && !stream.removed.load()) {
    if (options.max_frames > 0 && index >= options.max_frames) break;
    FramePtr frame;
    const int64_t t0 = now_ns();
    Status status;
    {
      SI_NVTX_RANGE("decode");
      status = stream.source->next(frame);
    }
    if (!status) {
      std::lock_guard lock(stats_mutex);
      stream.status = "failed: " + status.message();
      std::fprintf(stderr, "streaminfer: error: stream %d: %s\n", id, status.message().c_str());
      break;
    }
    if (!frame) {
      reached_end = true;
      break;
    }
    int64_t t1 = now_ns();
    stream.decoded.fetch_add(1);
    // The index is the frame's number in the stream, so skipped frames leave gaps in it.
    const int64_t frame_number = index++;
    if (!sampler.keep(frame_number, frame->pts_seconds)) {
      stream.skipped.fetch_add(1);
      continue;
    }
    if (stream.paced) {
      // Deliver like a live camera: frame i is due i / fps after the stream started. The
      // frame's clock starts when it is due, as a camera's would.
      const int64_t due =
          start + static_cast<int64_t>(static_cast<double>(frame_number) * 1e9 / fps);
      if (due > t1) std::this_thread::sleep_for(std::chrono::nanoseconds(due - t1));
      const int64_t decode_ns = t1 - t0;
      t1 = now_ns();
      frame->t.decode_start = t1 - decode_ns;
    } else if (frame->t.decode_start <= 0 || frame->t.decode_start > t1) {
      // Not set by a live source: the clock starts when the frame was asked for. (A live
      // source's arrival time may be before t0: data that waited in buffers is latency too.)
      frame->t.decode_start = t0;
    }
    frame->t.decode_end = t1;
    frame->stream_id = id;
    frame->index = frame_number;
    // A live stream's queue drops its oldest frame when inference falls behind; the frame comes
    // back here so that its ground truth counts as missed, and is freed on this thread.
    FramePtr dropped;
    if (!batcher->push(std::move(frame), &dropped)) break;
    if (dropped) outputs.on_dropped(*dropped);
  }
  {
    // Ended by the stop or its removal, not by itself (an interrupted read ends like a
    // stream's end).
    std::lock_guard lock(stats_mutex);
    if (stream.status == "ok" && stream.removed.load()) stream.status = "removed";
    if (stream.status == "ok" && stop_request->requested()) stream.status = "stopped";
  }
  batcher->close_stream(id);
  // The run is draining before the line that says the last stream ended: a stop request that
  // answers that line finds the phase it saw.
  leave_running();
  if (reached_end) report_end_of_stream(id, index);
  stream.ended.store(true);
}

void Pipeline::Impl::leave_running() {
  // A service's streams may all end while it runs: only a stop makes it drain.
  if (sources_running.fetch_sub(1) == 1 && (!options.service || stop.load())) {
    stop_request->set_phase(RunPhase::kDraining);
  }
}

void Pipeline::Impl::report_end_of_stream(int id, int64_t frames) {
  Stream& stream = *streams[static_cast<size_t>(id)];
  // An interrupted read ends like the stream's end: that is the stop's (or the removal's), said
  // by the summary.
  if (stop_request->requested() || stream.removed.load()) return;
  const std::string problem = stream.source->end_of_stream_problem();
  if (problem.empty()) {
    // Beside cameras that never end, this says when a file's last frame is in the pipeline (a
    // Ctrl-C from then on still gives every frame of it a result).
    std::fprintf(info_out(), "stream %d: end of stream after %lld frame(s)\n", id,
                 static_cast<long long>(frames));
    std::fflush(info_out());
    return;
  }
  std::lock_guard lock(stats_mutex);
  stream.status = "damaged: " + problem;
  std::fprintf(stderr, "streaminfer: error: stream %d: %s\n", id, problem.c_str());
}

Status Pipeline::open_sources() {
  Impl& m = *impl_;
  Status status = m.open_all();
  for (const auto& stream : m.streams) source_infos_.push_back(stream->info);
  return status;
}

Result<int> Pipeline::add_stream(const StreamSpec& spec) {
  Impl& m = *impl_;
  std::lock_guard lock(m.lifecycle_mutex);
  if (m.stop.load() || m.stop_request->requested()) {
    return Status::error("the service is stopping: no stream is added");
  }
  if (!m.batcher) return Status::error("add_stream: open_sources() first");
  const auto reading = std::count_if(m.streams.begin(), m.streams.end(), [](const auto& s) {
    return !s->removed.load() && !s->ended.load();
  });
  if (reading >= kMaxReadingStreams) {
    return Status::error(fmt::format(
        "{} streams are reading already, the most one process runs; remove one first", reading));
  }
  if (m.streams.full()) {
    return Status::error(fmt::format(
        "this process has run {} streams, its limit; restart it to add more", m.streams.size()));
  }
  Impl::Stream& stream = m.create_stream(spec);
  if (m.running) m.start_stream_thread(stream);
  return stream.id;
}

Result<StreamState> Pipeline::remove_stream(int id) {
  Impl& m = *impl_;
  std::thread thread;
  {
    std::lock_guard lock(m.lifecycle_mutex);
    if (id < 0 || static_cast<size_t>(id) >= m.streams.size()) {
      return Status::error(fmt::format("no stream {}", id));
    }
    Impl::Stream& stream = *m.streams[static_cast<size_t>(id)];
    if (stream.removed.exchange(true)) {
      return Status::error(fmt::format("stream {} was removed already", id));
    }
    stream.cancel.store(true);
    if (stream.ready.load(std::memory_order_acquire) && stream.source) stream.source->interrupt();
    thread = std::move(stream.thread);
    if (!thread.joinable() && !m.running) {
      // Never started: nothing will read it or close its queue.
      m.batcher->close_stream(id);
      std::lock_guard stats_lock(m.stats_mutex);
      stream.status = "removed";
    }
  }
  if (thread.joinable()) thread.join();
  // Its frames in the queue and in the stages are inferred and written like any other (or
  // counted as dropped); the caller gets the final counts.
  Impl::Stream& stream = *m.streams[static_cast<size_t>(id)];
  const auto all_answered = [&] {
    return stream.done.load() + m.batcher->dropped(id) >=
           stream.decoded.load() - stream.skipped.load();
  };
  const auto deadline = std::chrono::steady_clock::now() + kRemoveDrainWait;
  while (!all_answered() && !m.abandoned.load() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stream.drained.store(true);
  std::lock_guard lock(m.lifecycle_mutex);
  m.release_source(stream);
  return m.state_of(stream, now_ns());
}

std::vector<StreamState> Pipeline::streams() const {
  const Impl& m = *impl_;
  std::lock_guard lock(m.lifecycle_mutex);
  std::vector<StreamState> states;
  const int64_t now = now_ns();
  for (const auto& stream : m.streams) states.push_back(m.state_of(*stream, now));
  return states;
}

int64_t Pipeline::batches_done() const { return impl_->batches_done.load(); }

StreamState Pipeline::Impl::state_of(const Stream& stream, int64_t now) const {
  StreamState s;
  s.id = stream.id;
  s.name = stream.name;
  s.uri = stream.uri;
  s.removed = stream.removed.load();
  s.every_nth = stream.every_nth;
  s.sample_fps = stream.sample_fps;
  const bool ready = stream.ready.load(std::memory_order_acquire);
  // The stream's thread writes its info when the source opens: read only once it is ready.
  if (ready) {
    s.description = stream.info.description;
    s.live = stream.info.live;
  }
  s.decoded = stream.decoded.load();
  s.done = stream.done.load();
  s.skipped = stream.skipped.load();
  s.dropped = batcher ? batcher->dropped(stream.id) : 0;
  s.queued = batcher ? batcher->depth(stream.id) : 0;
  const int64_t last = stream.last_result_ns.load();
  s.seconds_since_result = last > 0 ? ns_to_ms(now - last) / 1000.0 : -1;
  if (ready && stream.source) {
    s.reconnects = stream.source->reconnects();
    s.decode_errors = stream.source->decode_errors();
  } else {  // released (release_source) or never opened
    s.reconnects = stream.kept_reconnects.load();
    s.decode_errors = stream.kept_decode_errors.load();
  }
  std::lock_guard lock(stats_mutex);
  s.status = stream.status;
  if (s.status == "ok" && !ready) s.status = "opening";
  if (s.status == "ok" && stream.ended.load()) s.status = "ended";
  s.up = ready && s.status == "ok";
  return s;
}

std::vector<int> Pipeline::generated_label_streams() const {
  std::vector<int> ids;
  if (!impl_->options.trainer) return ids;
  for (size_t i = 0; i < impl_->streams.size(); ++i) {
    const auto& stream = *impl_->streams[i];
    // A source still opening is a live one: no ground truth. One that failed does not train.
    const bool ready = stream.ready.load(std::memory_order_acquire);
    if (ready ? !stream.info.has_ground_truth : stream.opening.valid()) {
      ids.push_back(static_cast<int>(i));
    }
  }
  return ids;
}

}  // namespace streaminfer
