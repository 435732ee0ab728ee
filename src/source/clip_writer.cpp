#include "source/clip_writer.h"

#include <fmt/format.h>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}

#include <memory>

#include "source/synthetic_source.h"

namespace streaminfer {
namespace {

std::string av_error(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, text, sizeof(text));
  return text;
}

struct CodecContextDeleter {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FormatContextDeleter {
  void operator()(AVFormatContext* f) const {
    if (f->pb && !(f->oformat->flags & AVFMT_NOFILE)) avio_closep(&f->pb);
    avformat_free_context(f);
  }
};
struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct SwsDeleter {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};

// Owns everything one encode needs; each step fails with a message naming the file.
class ClipEncoder {
 public:
  ClipEncoder(std::string path, const ClipOptions& options) : path_(std::move(path)), o_(options) {}

  Status open() {
    AVFormatContext* format = nullptr;
    int rc = avformat_alloc_output_context2(&format, nullptr, nullptr, path_.c_str());
    if (rc < 0 || !format) return fail("no container for this file extension", rc);
    format_.reset(format);

    const std::string name = o_.codec.empty() ? default_clip_encoder() : o_.codec;
    const AVCodec* codec = avcodec_find_encoder_by_name(name.c_str());
    if (!codec) return Status::error(fmt::format("clip '{}': no FFmpeg encoder '{}'", path_, name));
    codec_.reset(avcodec_alloc_context3(codec));
    codec_->width = o_.width;
    codec_->height = o_.height;
    codec_->time_base = AVRational{1, o_.fps};
    codec_->framerate = AVRational{o_.fps, 1};
    codec_->gop_size = o_.gop;
    codec_->max_b_frames = 0;  // cameras send no B-frames; keeps decode order = display order
    codec_->pix_fmt = AV_PIX_FMT_YUV420P;
    if (name == "libx264") {
      av_opt_set(codec_->priv_data, "preset", "veryfast", 0);
      av_opt_set_int(codec_->priv_data, "crf", o_.crf, 0);
    } else {
      codec_->bit_rate = static_cast<int64_t>(o_.width) * o_.height * o_.fps / 10;
    }
    if (format_->oformat->flags & AVFMT_GLOBALHEADER) {
      codec_->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    }
    if ((rc = avcodec_open2(codec_.get(), codec, nullptr)) < 0) {
      return fail(fmt::format("cannot open encoder '{}'", name), rc);
    }
    stream_ = avformat_new_stream(format_.get(), nullptr);
    if (!stream_) return fail("cannot add a stream", AVERROR(ENOMEM));
    stream_->time_base = codec_->time_base;
    stream_->avg_frame_rate = codec_->framerate;
    if ((rc = avcodec_parameters_from_context(stream_->codecpar, codec_.get())) < 0) {
      return fail("cannot copy codec parameters", rc);
    }
    if (!(format_->oformat->flags & AVFMT_NOFILE) &&
        (rc = avio_open(&format_->pb, path_.c_str(), AVIO_FLAG_WRITE)) < 0) {
      return fail("cannot open for writing", rc);
    }
    if ((rc = avformat_write_header(format_.get(), nullptr)) < 0) {
      return fail("cannot write the header", rc);
    }
    packet_.reset(av_packet_alloc());
    yuv_ = make_av_frame();
    yuv_->format = AV_PIX_FMT_YUV420P;
    yuv_->width = o_.width;
    yuv_->height = o_.height;
    if ((rc = av_frame_get_buffer(yuv_.get(), 0)) < 0) return fail("out of memory", rc);
    return Status::ok();
  }

  Status encode(const AVFrame& rgb, int64_t index) {
    if (!sws_) {
      sws_.reset(sws_getContext(rgb.width, rgb.height, static_cast<AVPixelFormat>(rgb.format),
                                o_.width, o_.height, AV_PIX_FMT_YUV420P, SWS_BILINEAR, nullptr,
                                nullptr, nullptr));
      if (!sws_) return Status::error(fmt::format("clip '{}': no colour conversion", path_));
    }
    int rc = av_frame_make_writable(yuv_.get());
    if (rc < 0) return fail("out of memory", rc);
    sws_scale(sws_.get(), rgb.data, rgb.linesize, 0, rgb.height, yuv_->data, yuv_->linesize);
    yuv_->pts = index;
    return send(yuv_.get());
  }

  Status finish() {
    SI_RETURN_IF_ERROR(send(nullptr));
    const int rc = av_write_trailer(format_.get());
    if (rc < 0) return fail("cannot write the trailer", rc);
    return Status::ok();
  }

 private:
  Status send(AVFrame* frame) {
    int rc = avcodec_send_frame(codec_.get(), frame);
    if (rc < 0) return fail("encoder refused a frame", rc);
    while ((rc = avcodec_receive_packet(codec_.get(), packet_.get())) >= 0) {
      av_packet_rescale_ts(packet_.get(), codec_->time_base, stream_->time_base);
      packet_->stream_index = stream_->index;
      rc = av_interleaved_write_frame(format_.get(), packet_.get());
      if (rc < 0) return fail("cannot write a packet", rc);
    }
    if (rc != AVERROR(EAGAIN) && rc != AVERROR_EOF) return fail("encoder failed", rc);
    return Status::ok();
  }

  Status fail(const std::string& what, int code) const {
    return Status::error(fmt::format("clip '{}': {}: {}", path_, what, av_error(code)));
  }

  std::string path_;
  ClipOptions o_;
  std::unique_ptr<AVFormatContext, FormatContextDeleter> format_;
  std::unique_ptr<AVCodecContext, CodecContextDeleter> codec_;
  std::unique_ptr<AVPacket, PacketDeleter> packet_;
  std::unique_ptr<SwsContext, SwsDeleter> sws_;
  AvFramePtr yuv_;
  AVStream* stream_ = nullptr;
};

}  // namespace

std::string default_clip_encoder() {
  return avcodec_find_encoder_by_name("libx264") ? "libx264" : "mpeg4";
}

Status write_synthetic_clip(const std::string& path, const ClipOptions& options) {
  if (options.width < 16 || options.height < 16 || options.width % 2 || options.height % 2) {
    return Status::error(fmt::format("clip '{}': size {}x{} must be even and at least 16x16", path,
                                     options.width, options.height));
  }
  if (options.fps < 1 || options.frames < 1) {
    return Status::error(fmt::format("clip '{}': fps and frames must be positive", path));
  }
  SyntheticParams params;
  params.width = options.width;
  params.height = options.height;
  params.fps = options.fps;
  params.objects = options.objects;
  params.seed = options.seed;
  params.frames = options.frames;
  // libx264 prints its statistics at info level; the engine keeps FFmpeg's own lines quiet.
  if (av_log_get_level() > AV_LOG_ERROR) av_log_set_level(AV_LOG_ERROR);
  SyntheticSource source(params, "synthetic");
  ClipEncoder encoder(path, options);
  SI_RETURN_IF_ERROR(encoder.open());
  for (int64_t i = 0; i < options.frames; ++i) {
    FramePtr frame;
    SI_RETURN_IF_ERROR(source.next(frame));
    if (!frame) break;
    SI_RETURN_IF_ERROR(encoder.encode(*frame->image, i));
  }
  return encoder.finish();
}

}  // namespace streaminfer
