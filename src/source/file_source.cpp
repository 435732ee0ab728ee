#include "source/file_source.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

#include "source/capture_devices.h"
#include "source/hw_decode.h"
#include "streaminfer/clock.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
}

namespace streaminfer {
namespace {

// A damaged stream can fail to read many times in a row while the demuxer resyncs; past this many
// without one good packet we give up on the stream.
constexpr int kMaxConsecutiveReadErrors = 1000;
// Decode errors the decoder reports on one receive call in a row before we stop asking.
constexpr int kMaxReceiveErrorsInRow = 64;
// Live sources: content probed at open (codec parameters mostly come from the SDP already).
constexpr int64_t kLiveAnalyzeMicros = 1000000;
// Live sources: how far ahead of real time a connect burst may put the stream (see on_packet).
constexpr int64_t kMaxBurstAheadNs = 10'000'000'000;

std::string av_error_text(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(code, text, sizeof(text));
  return text;
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

bool is_network_uri(const std::string& uri) {
  for (const char* scheme :
       {"rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://", "srt://"}) {
    if (starts_with(uri, scheme)) return true;
  }
  return false;
}

bool is_http_uri(const std::string& uri) {
  return starts_with(uri, "http://") || starts_with(uri, "https://");
}

void init_ffmpeg_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    // FFmpeg logs every damaged packet to stderr; we count them instead (decode_errors()).
    av_log_set_level(AV_LOG_QUIET);
    avformat_network_init();
  });
}

std::string open_error(const std::string& uri, int code) {
  const std::string quoted = "'" + uri + "'";
  if (code == AVERROR_INVALIDDATA) {
    return quoted + " is not a video file FFmpeg can read (" + av_error_text(code) + ")";
  }
  std::string hint;
  if (code == AVERROR(ENOENT) && is_live_uri(uri)) {
    hint = "no such camera: `ls /dev/video*` lists the capture devices";
  } else if (code == AVERROR(ENOENT)) {
    hint = "check the path";
  } else if (code == AVERROR(EACCES)) {
    hint = "check the file's permissions";
  } else if (code == AVERROR_PROTOCOL_NOT_FOUND) {
    hint = "this FFmpeg build does not support that protocol";
  } else if (is_network_uri(uri)) {
    hint = "check the URL and that the server is reachable";
  } else {
    hint = "check that it is a video file or stream";
  }
  return "cannot open " + quoted + ": " + av_error_text(code) + " (" + hint + ")";
}

std::string probed_fps_text(double fps) {
  if (fps <= 0) return "unknown fps";
  char text[32];
  std::snprintf(text, sizeof(text), "%.2f fps", fps);
  return text;
}

}  // namespace

bool is_live_uri(const std::string& uri) {
  return is_network_uri(uri) || starts_with(uri, "/dev/video") || starts_with(uri, "camera:");
}

Result<FfmpegInput> ffmpeg_input_of(const std::string& uri) {
  FfmpegInput input{uri, "", ""};
  if (starts_with(uri, "/dev/video")) {
    input.format = "video4linux2";
  } else if (starts_with(uri, "camera:")) {
    const std::string index = uri.substr(7);
    if (index.empty() || index.find_first_not_of("0123456789") != std::string::npos) {
      return Status::error("'" + uri + "': a camera index is a number, e.g. camera:0");
    }
    input = {"/dev/video" + index, "video4linux2", ""};
  } else if (starts_with(uri, "rtsp://") || starts_with(uri, "rtsps://")) {
    // TCP by default: UDP loses packets (grey smears) on any busy network.
    input.rtsp_transport = "tcp";
    const size_t key = uri.find("transport=");
    if (key != std::string::npos && (uri[key - 1] == '?' || uri[key - 1] == '&')) {
      const size_t end = uri.find('&', key);
      input.rtsp_transport = uri.substr(key + 10, end == std::string::npos ? end : end - key - 10);
      if (input.rtsp_transport != "tcp" && input.rtsp_transport != "udp") {
        return Status::error("'" + uri + "': transport must be tcp or udp");
      }
      // The key is ours, not the camera's: take it out of the URL the server sees.
      std::string url = uri.substr(0, key - 1);
      if (end != std::string::npos) url += uri[key - 1] + uri.substr(end + 1);
      input.url = url;
    }
  }
  return input;
}

int FileSource::should_abort_io(void* opaque) {
  auto* self = static_cast<FileSource*>(opaque);
  if (self->interrupted_.load()) return 1;
  if (self->cancel_ != nullptr && self->cancel_->load()) return 1;
  const int64_t packet_deadline = self->io_deadline_ns_.load();
  const int64_t frame_deadline = self->frame_deadline_ns_.load();
  const int64_t now = now_ns();
  if ((packet_deadline > 0 && now > packet_deadline) ||
      (frame_deadline > 0 && now > frame_deadline)) {
    self->stalled_.store(true);
    return 1;
  }
  return 0;
}

Result<std::unique_ptr<Source>> FileSource::open(const std::string& uri,
                                                 const SourceOptions& options) {
  init_ffmpeg_once();
  std::unique_ptr<FileSource> source(new FileSource());
  source->info_.uri = uri;
  source->cancel_ = options.cancel;
  source->info_.live = is_live_uri(uri);
  source->info_.self_paced = source->info_.live;
  const std::string quoted = "'" + uri + "'";
  auto input = ffmpeg_input_of(uri);
  if (!input) return input.status();

  AVDictionary* open_options = nullptr;
  if (source->info_.live) {
    // Without a timeout a dead camera blocks the stream thread forever; the interrupt callback
    // also catches a server that keeps the connection open and sends nothing.
    source->stall_timeout_ns_ = static_cast<int64_t>(options.stall_timeout_s * 1e9);
    const std::string micros = std::to_string(static_cast<int64_t>(options.stall_timeout_s * 1e6));
    if (is_network_uri(uri)) av_dict_set(&open_options, "rw_timeout", micros.c_str(), 0);
    if (!input.value().rtsp_transport.empty()) {
      av_dict_set(&open_options, "timeout", micros.c_str(), 0);
      av_dict_set(&open_options, "rtsp_transport", input.value().rtsp_transport.c_str(), 0);
    }
  }
  source->format_ = avformat_alloc_context();
  if (!source->format_) return Status::error(quoted + ": out of memory");
  source->format_->interrupt_callback = {&FileSource::should_abort_io, source.get()};
  if (source->info_.live) {
    // Probing reads up to analyzeduration of content, which a live source sends in real time.
    av_dict_set(&open_options, "analyzeduration", std::to_string(kLiveAnalyzeMicros).c_str(), 0);
    source->io_deadline_ns_.store(now_ns() + source->stall_timeout_ns_ + kLiveAnalyzeMicros * 1000);
  }
  const AVInputFormat* forced = nullptr;
  if (!input.value().format.empty()) {
    // Only capture devices (video4linux2 for webcams) are forced, and they live in libavdevice.
    if (Status loaded = register_capture_devices(); !loaded) {
      return Status::error(quoted + ": " + loaded.message());
    }
    forced = av_find_input_format(input.value().format.c_str());
    if (!forced) {
      return Status::error(quoted + ": this FFmpeg build has no " + input.value().format +
                           " input (install libavdevice with V4L2 support)");
    }
  }
  int ret = avformat_open_input(&source->format_, input.value().url.c_str(), forced, &open_options);
  av_dict_free(&open_options);
  if (ret < 0) {
    if (source->stalled_.load()) {
      return Status::error(
          fmt::format("cannot open '{}': no answer within {:g} s (check that the "
                      "camera or server is up, or raise --stall-timeout)",
                      uri, options.stall_timeout_s));
    }
    return Status::error(open_error(uri, ret));
  }

  AVFormatContext* format = source->format_;
  // The tty demuxer would "play" a text file as ANSI art; nobody means that as a video.
  if (std::string(format->iformat->name) == "tty") {
    return Status::error(quoted + " is not a video file FFmpeg can read (" +
                         av_error_text(AVERROR_INVALIDDATA) + ")");
  }
  ret = avformat_find_stream_info(format, nullptr);
  if (ret < 0 && source->stalled_.load()) {
    return Status::error(
        fmt::format("'{}' sent no video within {:g} s (check the camera, or "
                    "raise --stall-timeout)",
                    uri, options.stall_timeout_s));
  }
  if (ret < 0) {
    return Status::error(quoted + " is not a video file FFmpeg can read (" + av_error_text(ret) +
                         ")");
  }
  const AVCodec* codec = nullptr;
  ret = av_find_best_stream(format, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
  if (ret == AVERROR_STREAM_NOT_FOUND) return Status::error(quoted + " has no video stream");
  if (ret == AVERROR_DECODER_NOT_FOUND || (ret >= 0 && !codec)) {
    // Find the codec id of the first video stream to name it.
    const char* name = "unknown";
    for (unsigned i = 0; i < format->nb_streams; ++i) {
      if (format->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO) {
        name = avcodec_get_name(format->streams[i]->codecpar->codec_id);
        break;
      }
    }
    return Status::error(quoted + ": this FFmpeg build has no decoder for video codec '" + name +
                         "' (re-encode it, e.g. to h264, or use an FFmpeg with that decoder)");
  }
  if (ret < 0) {
    return Status::error(quoted + ": cannot select a video stream (" + av_error_text(ret) + ")");
  }
  source->stream_index_ = ret;
  AVStream* stream = format->streams[ret];
  // Other streams (audio, subtitles) are dropped by the demuxer instead of read and thrown away.
  for (unsigned i = 0; i < format->nb_streams; ++i) {
    if (static_cast<int>(i) != ret) format->streams[i]->discard = AVDISCARD_ALL;
  }

  source->decoder_ = avcodec_alloc_context3(codec);
  if (!source->decoder_) return Status::error(quoted + ": out of memory for the decoder");
  AVCodecContext* decoder = source->decoder_;
  ret = avcodec_parameters_to_context(decoder, stream->codecpar);
  if (ret < 0) {
    return Status::error(quoted + ": bad codec parameters (" + av_error_text(ret) + ")");
  }
  decoder->pkt_timebase = stream->time_base;
  decoder->thread_count = options.decode_threads;
  decoder->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
  std::string decoded_on = "cpu";
  if (options.hwdec == kHwdecCuda) {
    const std::string why_not = attach_cuda_decoder(decoder, codec);
    if (why_not.empty()) {
      decoded_on = "cuda (NVDEC)";
    } else {
      source->info_.warning = "--hwdec cuda: " + why_not + "; decoding on the CPU";
    }
  }
  ret = avcodec_open2(decoder, codec, nullptr);
  if (ret < 0) {
    return Status::error(quoted + ": cannot open the " + codec->name + " decoder (" +
                         av_error_text(ret) + ")");
  }
  source->packet_ = av_packet_alloc();
  source->decoded_ = av_frame_alloc();
  if (!source->packet_ || !source->decoded_) return Status::error(quoted + ": out of memory");

  // Whatever happened while probing, the stall clock starts again with the first next().
  source->stalled_.store(false);
  source->io_deadline_ns_.store(0);
  source->frame_deadline_ns_.store(0);
  if (source->info_.live && is_http_uri(uri) && format->duration > 0) {
    // A video file served over HTTP(S) has a length; a camera's stream (MJPEG, a live playlist)
    // has none. The file ends at its end like a local one, instead of counting as a drop and
    // playing again from the start; FFmpeg's rw_timeout still ends a read that hangs.
    source->info_.live = false;
    source->info_.self_paced = false;
    source->stall_timeout_ns_ = 0;  // no stall clock
  }
  source->time_base_ = av_q2d(stream->time_base);
  source->start_pts_ = stream->start_time != AV_NOPTS_VALUE ? stream->start_time : 0;
  AVRational rate = stream->avg_frame_rate;
  if (rate.num <= 0 || rate.den <= 0) rate = stream->r_frame_rate;
  SourceInfo& info = source->info_;
  info.fps = (rate.num > 0 && rate.den > 0) ? av_q2d(rate) : 0;
  // What the header promises, to tell a file that was cut short from one that ended cleanly.
  if (stream->nb_frames > 0) {
    source->expected_frames_ = stream->nb_frames;
  } else if (format->duration != AV_NOPTS_VALUE && info.fps > 0) {
    source->expected_frames_ =
        std::llround(static_cast<double>(format->duration) / AV_TIME_BASE * info.fps);
  }
  info.width = stream->codecpar->width;
  info.height = stream->codecpar->height;
  info.description = std::string(avcodec_get_name(stream->codecpar->codec_id)) + " " +
                     std::to_string(info.width) + "x" + std::to_string(info.height) + " @ " +
                     probed_fps_text(info.fps) + " (" + format->iformat->name + ")" +
                     (decoded_on == "cpu" ? "" : ", decoded on " + decoded_on);
  return std::unique_ptr<Source>(std::move(source));
}

FileSource::~FileSource() {
  av_frame_free(&decoded_);
  av_packet_free(&packet_);
  avcodec_free_context(&decoder_);
  avformat_close_input(&format_);
}

void FileSource::feed() {
  while (true) {
    // Checked here too: a server that sends data that never decodes into a frame keeps reads
    // from blocking, so FFmpeg would not ask.
    const int ret = should_abort_io(this) ? AVERROR_EXIT : av_read_frame(format_, packet_);
    if (ret == AVERROR(EAGAIN)) {  // non-blocking input with nothing yet: wait, do not spin
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    if (ret < 0) {
      const bool at_end = ret == AVERROR_EOF || (format_->pb && avio_feof(format_->pb));
      // A live source that fails to read has dropped: re-opening it is the caller's job, and
      // retrying a dead socket a thousand times would only delay that.
      const bool gave_up = interrupted_.load() || stalled_.load() || info_.live;
      if (!at_end && !gave_up && ++consecutive_read_errors_ < kMaxConsecutiveReadErrors) {
        ++decode_errors_;
        continue;
      }
      if (stalled_.load()) {
        pending_error_ =
            Status::error(fmt::format("no data from '{}' for {:g} s (the camera or server stalled)",
                                      info_.uri, static_cast<double>(stall_timeout_ns_) / 1e9));
      } else if (interrupted_.load()) {
        // Asked to stop: the stream ends cleanly with what was decoded.
      } else if (!at_end) {
        pending_error_ = Status::error("read error in '" + info_.uri + "': " + av_error_text(ret) +
                                       " (the file or stream is damaged or went away)");
      }
      draining_ = true;
      avcodec_send_packet(decoder_, nullptr);  // flush: the frames still inside come out
      return;
    }
    consecutive_read_errors_ = 0;
    if (packet_->stream_index != stream_index_) {
      av_packet_unref(packet_);
      continue;
    }
    if (stall_timeout_ns_ > 0) {
      on_packet(packet_->pts != AV_NOPTS_VALUE ? static_cast<double>(packet_->pts) * time_base_
                                               : -1.0);
    }
    const int sent = avcodec_send_packet(decoder_, packet_);
    av_packet_unref(packet_);
    // A packet the decoder rejects is damaged: skip it and go on with the next one.
    if (sent < 0 && sent != AVERROR(EAGAIN)) ++decode_errors_;
    return;
  }
}

void FileSource::on_packet(double pts_s) {
  const int64_t now = now_ns();
  last_io_ns_.store(now);
  int64_t ahead_ns = 0;
  if (pts_s >= 0) {
    if (first_packet_ns_ == 0) {
      first_packet_ns_ = now;
      first_packet_pts_s_ = pts_s;
    }
    ahead_ns = static_cast<int64_t>((pts_s - first_packet_pts_s_) * 1e9) - (now - first_packet_ns_);
    // A jump in the time stamps must not switch stall detection off.
    ahead_ns = std::clamp<int64_t>(ahead_ns, 0, kMaxBurstAheadNs);
  }
  ahead_ns_ = ahead_ns;
  io_deadline_ns_.store(now + stall_timeout_ns_ + ahead_ns);
}

std::string FileSource::end_of_stream_problem() const {
  std::string problem;
  // Headers round durations: only a clear shortfall (more than 2% and 1 frame) counts.
  const bool cut_short =
      !info_.live && expected_frames_ > 0 &&
      static_cast<double>(frames_out_) < static_cast<double>(expected_frames_) * 0.98 - 1.0;
  if (cut_short) {
    problem = "'" + info_.uri + "' ended early: " + std::to_string(frames_out_) + " of " +
              std::to_string(expected_frames_) +
              " frames decoded (the file is truncated or damaged; every decoded frame has a "
              "result)";
  }
  if (decode_errors_ > 0) {
    problem += (problem.empty() ? "'" + info_.uri + "': " : "; ") +
               std::to_string(decode_errors_.load()) + " damaged packet(s) or frame(s) skipped";
  }
  return problem;
}

Status FileSource::next(FramePtr& out) {
  out.reset();
  if (!reading_ && stall_timeout_ns_ > 0) {
    reading_ = true;
    const int64_t deadline = now_ns() + stall_timeout_ns_;
    io_deadline_ns_.store(deadline);
    frame_deadline_ns_.store(deadline);
  }
  int errors_in_row = 0;
  while (true) {
    const int ret = avcodec_receive_frame(decoder_, decoded_);
    if (ret == 0) {
      auto frame = std::make_unique<Frame>();
      frame->image = make_av_frame();
      if (!frame->image) return Status::error("'" + info_.uri + "': out of memory");
      const int64_t ts = decoded_->best_effort_timestamp;
      if (ts != AV_NOPTS_VALUE) {
        frame->pts_seconds = static_cast<double>(ts - start_pts_) * time_base_;
      } else if (info_.fps > 0) {
        frame->pts_seconds = static_cast<double>(frames_out_) / info_.fps;
      }
      if (info_.live) {
        frame->t.decode_start = last_io_ns_.load();
        frame_deadline_ns_.store(now_ns() + stall_timeout_ns_ + ahead_ns_);
      }
      av_frame_move_ref(frame->image.get(), decoded_);
      // Preprocessing reads system memory: an NVDEC frame is copied out of the GPU here.
      SI_RETURN_IF_ERROR(download_hardware_frame(frame->image.get()));
      ++frames_out_;
      out = std::move(frame);
      return Status::ok();
    }
    if (ret == AVERROR_EOF || (draining_ && ret == AVERROR(EAGAIN))) {
      return pending_error_;  // ok at a normal end of stream
    }
    if (ret == AVERROR(EAGAIN)) {
      feed();
      continue;
    }
    // A frame failed to decode (frame threading reports it here rather than at send time).
    ++decode_errors_;
    if (++errors_in_row >= kMaxReceiveErrorsInRow) {
      if (draining_) return pending_error_;
      feed();
      errors_in_row = 0;
    }
  }
}

}  // namespace streaminfer
