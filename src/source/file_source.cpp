#include "source/file_source.h"

#include <cmath>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

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
  if (code == AVERROR(ENOENT)) {
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

std::string format_fps(double fps) {
  if (fps <= 0) return "unknown fps";
  char text[32];
  std::snprintf(text, sizeof(text), "%.2f fps", fps);
  return text;
}

}  // namespace

bool is_live_uri(const std::string& uri) {
  return is_network_uri(uri) || starts_with(uri, "/dev/video");
}

Result<std::unique_ptr<Source>> FileSource::open(const std::string& uri,
                                                 const SourceOptions& options) {
  init_ffmpeg_once();
  std::unique_ptr<FileSource> source(new FileSource());
  source->info_.uri = uri;
  source->info_.live = is_live_uri(uri);
  const std::string quoted = "'" + uri + "'";

  AVDictionary* open_options = nullptr;
  if (is_network_uri(uri)) {
    // Without a timeout a dead camera blocks the stream thread forever.
    av_dict_set(&open_options, "rw_timeout", "10000000", 0);
    if (starts_with(uri, "rtsp")) av_dict_set(&open_options, "timeout", "10000000", 0);
  }
  int ret = avformat_open_input(&source->format_, uri.c_str(), nullptr, &open_options);
  av_dict_free(&open_options);
  if (ret < 0) return Status::error(open_error(uri, ret));

  AVFormatContext* format = source->format_;
  // The tty demuxer would "play" a text file as ANSI art; nobody means that as a video.
  if (std::string(format->iformat->name) == "tty") {
    return Status::error(quoted + " is not a video file FFmpeg can read (" +
                         av_error_text(AVERROR_INVALIDDATA) + ")");
  }
  ret = avformat_find_stream_info(format, nullptr);
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
  ret = avcodec_open2(decoder, codec, nullptr);
  if (ret < 0) {
    return Status::error(quoted + ": cannot open the " + codec->name + " decoder (" +
                         av_error_text(ret) + ")");
  }
  source->packet_ = av_packet_alloc();
  source->decoded_ = av_frame_alloc();
  if (!source->packet_ || !source->decoded_) return Status::error(quoted + ": out of memory");

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
                     format_fps(info.fps) + " (" + format->iformat->name + ")";
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
    const int ret = av_read_frame(format_, packet_);
    if (ret == AVERROR(EAGAIN)) {  // non-blocking input with nothing yet: wait, do not spin
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    if (ret < 0) {
      const bool at_end = ret == AVERROR_EOF || (format_->pb && avio_feof(format_->pb));
      if (!at_end && ++consecutive_read_errors_ < kMaxConsecutiveReadErrors) {
        ++decode_errors_;
        continue;
      }
      if (!at_end) {
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
    const int sent = avcodec_send_packet(decoder_, packet_);
    av_packet_unref(packet_);
    // A packet the decoder rejects is damaged: skip it and go on with the next one.
    if (sent < 0 && sent != AVERROR(EAGAIN)) ++decode_errors_;
    return;
  }
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
    problem += (problem.empty() ? "'" + info_.uri + "': " : "; ") + std::to_string(decode_errors_) +
               " damaged packet(s) or frame(s) skipped";
  }
  return problem;
}

Status FileSource::next(FramePtr& out) {
  out.reset();
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
      av_frame_move_ref(frame->image.get(), decoded_);
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
