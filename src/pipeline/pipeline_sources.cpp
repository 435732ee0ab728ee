// The pipeline's streams: opening every source side by side (a camera that does not answer holds
// only its own stream), then one thread per stream that decodes, paces and queues its frames.
#include <fmt/format.h>

#include <cstdio>
#include <thread>

#include "common/console.h"
#include "pipeline/pipeline_impl.h"
#include "profile/nvtx.h"
#include "source/frame_sampler.h"
#include "streaminfer/clock.h"

namespace streaminfer {

Status Pipeline::Impl::open_all() {
  SourceOptions source_options = options.source_options;
  source_options.cancel = &stop;
  if (stop_request->requested()) stop.store(true);
  for (const auto& uri : options.sources) {
    auto stream = std::make_unique<Stream>();
    stream->uri = uri;
    stream->info.uri = uri;
    stream->open_start_ns = now_ns();
    if (!stop.load()) {
      stream->opening = std::async(
          std::launch::async, [uri, source_options] { return open_source(uri, source_options); });
    }
    streams.push_back(std::move(stream));
  }
  // Policies are set as each stream opens (a live source drops its oldest frame).
  batcher = std::make_unique<Batcher>(
      options.batcher, std::vector<OverflowPolicy>(streams.size(), OverflowPolicy::kBlock));
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
  if (opened == 0 && pending == 0 && !stop.load()) {
    return Status::error(fmt::format("none of the {} source(s) could be opened, nothing to run",
                                     options.sources.size()));
  }
  return Status::ok();
}

bool Pipeline::Impl::adopt(int id, Result<std::unique_ptr<Source>> opened, bool late) {
  Stream& stream = *streams[static_cast<size_t>(id)];
  if (!opened) {
    std::lock_guard lock(stats_mutex);
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
      sources_running.fetch_sub(1);
      return;
    }
  }
  const int64_t start = now_ns();
  const double fps = stream.info.fps > 0 ? stream.info.fps : 30.0;
  FrameSampler sampler(options.every_nth, options.sample_fps);
  int64_t index = 0;
  while (!stop.load()) {
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
      report_end_of_stream(id, index);
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
  if (stop_request->requested()) {
    // Ended by the stop, not by itself (an interrupted read ends like a stream's end).
    std::lock_guard lock(stats_mutex);
    if (stream.status == "ok") stream.status = "stopped";
  }
  batcher->close_stream(id);
  if (sources_running.fetch_sub(1) == 1) stop_request->set_phase(RunPhase::kDraining);
}

void Pipeline::Impl::report_end_of_stream(int id, int64_t frames) {
  Stream& stream = *streams[static_cast<size_t>(id)];
  // An interrupted read ends like the stream's end: that is the stop's, said by the summary.
  if (stop_request->requested()) return;
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
