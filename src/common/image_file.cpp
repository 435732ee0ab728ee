#include "common/image_file.h"

#include <fmt/format.h>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <memory>
#include <mutex>

namespace streaminfer {
namespace {

std::string image_av_error(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, text, sizeof(text));
  return text;
}

struct ImageInputDeleter {
  void operator()(AVFormatContext* f) const { avformat_close_input(&f); }
};
struct ImageCodecDeleter {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct ImagePacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct ImageSwsDeleter {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};
struct ImageFileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using ImagePacketPtr = std::unique_ptr<AVPacket, ImagePacketDeleter>;

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void quiet_image_codecs_once() {
  // A corrupt image makes the decoder log several lines of its own; the caller reports it in one.
  static std::once_flag once;
  std::call_once(once, [] {
    if (av_log_get_level() > AV_LOG_QUIET) av_log_set_level(AV_LOG_QUIET);
  });
}

bool is_full_range_picture(const AVFrame& frame) {
  const auto format = static_cast<AVPixelFormat>(frame.format);
  return frame.color_range == AVCOL_RANGE_JPEG || format == AV_PIX_FMT_YUVJ420P ||
         format == AV_PIX_FMT_YUVJ422P || format == AV_PIX_FMT_YUVJ444P;
}

// `frame` in `format`, same size; dst_full_range: YUV output uses 0..255 (JPEG) levels.
Result<AvFramePtr> convert_picture(const AVFrame& frame, AVPixelFormat format,
                                   bool dst_full_range) {
  std::unique_ptr<SwsContext, ImageSwsDeleter> sws(
      sws_getContext(frame.width, frame.height, static_cast<AVPixelFormat>(frame.format),
                     frame.width, frame.height, format, SWS_BILINEAR, nullptr, nullptr, nullptr));
  if (!sws) {
    return Status::error(fmt::format("no conversion from pixel format {} to {}",
                                     av_get_pix_fmt_name(static_cast<AVPixelFormat>(frame.format)),
                                     av_get_pix_fmt_name(format)));
  }
  const int* coefficients = sws_getCoefficients(SWS_CS_DEFAULT);
  sws_setColorspaceDetails(sws.get(), coefficients, is_full_range_picture(frame) ? 1 : 0,
                           coefficients, dst_full_range ? 1 : 0, 0, 1 << 16, 1 << 16);
  AvFramePtr out = make_av_frame();
  out->format = format;
  out->width = frame.width;
  out->height = frame.height;
  if (av_frame_get_buffer(out.get(), 0) < 0) return Status::error("out of memory");
  sws_scale(sws.get(), frame.data, frame.linesize, 0, frame.height, out->data, out->linesize);
  if (dst_full_range) out->color_range = AVCOL_RANGE_JPEG;
  return out;
}

// MJPEG's quantizer scale runs from 2 (best) to 31 (smallest).
int jpeg_qscale(int quality) {
  const int q = std::clamp(quality, 1, 100);
  return static_cast<int>(std::lround(2.0 + (100.0 - q) * 29.0 / 99.0));
}

}  // namespace

Result<ImageFormat> parse_image_format(std::string_view name) {
  const std::string n = ascii_lower(name);
  if (n == "png") return ImageFormat::kPng;
  if (n == "jpg" || n == "jpeg") return ImageFormat::kJpeg;
  if (n == "bmp") return ImageFormat::kBmp;
  return Status::error(fmt::format("image format '{}': use png, jpg or bmp", name));
}

Result<ImageFormat> image_format_of_file(std::string_view name) {
  const size_t dot = name.rfind('.');
  const size_t slash = name.rfind('/');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) {
    return Status::error(
        fmt::format("'{}' has no image extension (.png, .jpg, .jpeg, .bmp)", name));
  }
  auto format = parse_image_format(name.substr(dot + 1));
  if (!format) {
    return Status::error(
        fmt::format("'{}' has no image extension (.png, .jpg, .jpeg, .bmp)", name));
  }
  return format;
}

const char* image_extension(ImageFormat format) {
  switch (format) {
    case ImageFormat::kPng:
      return "png";
    case ImageFormat::kJpeg:
      return "jpg";
    case ImageFormat::kBmp:
      return "bmp";
  }
  return "png";
}

bool is_image_file_name(std::string_view name) { return image_format_of_file(name).is_ok(); }

Result<AvFramePtr> read_image(const std::string& path) {
  quiet_image_codecs_once();
  const auto fail = [&](const std::string& what, int code) {
    return Status::error(fmt::format("image '{}': {}: {}", path, what, image_av_error(code)));
  };
  AVFormatContext* raw = nullptr;
  int rc = avformat_open_input(&raw, path.c_str(), nullptr, nullptr);
  if (rc < 0) return fail("cannot open", rc);
  std::unique_ptr<AVFormatContext, ImageInputDeleter> input(raw);
  if ((rc = avformat_find_stream_info(input.get(), nullptr)) < 0) {
    return fail("not an image FFmpeg can read", rc);
  }
  const AVCodec* codec = nullptr;
  const int stream = av_find_best_stream(input.get(), AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
  if (stream < 0 || !codec) return fail("no picture in the file", stream < 0 ? stream : 0);
  std::unique_ptr<AVCodecContext, ImageCodecDeleter> decoder(avcodec_alloc_context3(codec));
  if (!decoder) return fail("out of memory", AVERROR(ENOMEM));
  avcodec_parameters_to_context(decoder.get(), input->streams[stream]->codecpar);
  if ((rc = avcodec_open2(decoder.get(), codec, nullptr)) < 0) return fail("no decoder", rc);

  ImagePacketPtr packet(av_packet_alloc());
  AvFramePtr frame = make_av_frame();
  bool flushed = false;
  while (true) {
    rc = avcodec_receive_frame(decoder.get(), frame.get());
    if (rc >= 0) return frame;
    if (rc != AVERROR(EAGAIN) || flushed) {
      return fail("cannot decode", rc == AVERROR_EOF ? AVERROR_INVALIDDATA : rc);
    }
    rc = av_read_frame(input.get(), packet.get());
    if (rc == AVERROR_EOF) {
      avcodec_send_packet(decoder.get(), nullptr);
      flushed = true;
      continue;
    }
    if (rc < 0) return fail("cannot read", rc);
    if (packet->stream_index == stream) {
      rc = avcodec_send_packet(decoder.get(), packet.get());
      av_packet_unref(packet.get());
      if (rc < 0) return fail("cannot decode", rc);
    } else {
      av_packet_unref(packet.get());
    }
  }
}

Result<AvFramePtr> to_rgb24(const AVFrame& frame) {
  return convert_picture(frame, AV_PIX_FMT_RGB24, false);
}

Status write_image(const AVFrame& frame, const std::string& path,
                   const ImageWriteOptions& options) {
  quiet_image_codecs_once();
  const bool jpeg = options.format == ImageFormat::kJpeg;
  const auto fail = [&](const std::string& what, int code) {
    return Status::error(fmt::format("image '{}': {}: {}", path, what, image_av_error(code)));
  };
  const AVCodecID codec_id =
      jpeg ? AV_CODEC_ID_MJPEG
           : (options.format == ImageFormat::kBmp ? AV_CODEC_ID_BMP : AV_CODEC_ID_PNG);
  const AVCodec* codec = avcodec_find_encoder(codec_id);
  if (!codec) {
    return Status::error(
        fmt::format("image '{}': this FFmpeg has no {} encoder", path, avcodec_get_name(codec_id)));
  }
  // PNG and BMP keep the picture exact (RGB24, BGR24); JPEG takes full-range 4:2:0, like a
  // camera's JPEG.
  const AVPixelFormat pixel_format =
      jpeg ? AV_PIX_FMT_YUV420P
           : (options.format == ImageFormat::kBmp ? AV_PIX_FMT_BGR24 : AV_PIX_FMT_RGB24);
  auto converted = convert_picture(frame, pixel_format, jpeg);
  if (!converted)
    return Status::error(fmt::format("image '{}': {}", path, converted.status().message()));
  AVFrame& picture = *converted.value();

  std::unique_ptr<AVCodecContext, ImageCodecDeleter> encoder(avcodec_alloc_context3(codec));
  if (!encoder) return fail("out of memory", AVERROR(ENOMEM));
  encoder->width = frame.width;
  encoder->height = frame.height;
  encoder->pix_fmt = pixel_format;
  encoder->time_base = AVRational{1, 25};
  if (jpeg) {
    encoder->color_range = AVCOL_RANGE_JPEG;
    encoder->flags |= AV_CODEC_FLAG_QSCALE;
    encoder->global_quality = jpeg_qscale(options.jpeg_quality) * FF_QP2LAMBDA;
    // With a fixed quantizer, MPEG-family encoders take the scale from each frame.
    picture.quality = encoder->global_quality;
  }
  int rc = avcodec_open2(encoder.get(), codec, nullptr);
  if (rc < 0) return fail("cannot open the encoder", rc);
  picture.pts = 0;
  if ((rc = avcodec_send_frame(encoder.get(), &picture)) < 0) return fail("cannot encode", rc);
  if ((rc = avcodec_send_frame(encoder.get(), nullptr)) < 0) return fail("cannot encode", rc);
  ImagePacketPtr packet(av_packet_alloc());
  if ((rc = avcodec_receive_packet(encoder.get(), packet.get())) < 0) {
    return fail("cannot encode", rc);
  }
  std::unique_ptr<std::FILE, ImageFileCloser> file(std::fopen(path.c_str(), "wb"));
  if (!file) return fail("cannot open for writing", AVERROR(errno));
  const size_t size = static_cast<size_t>(packet->size);
  if (std::fwrite(packet->data, 1, size, file.get()) != size) {
    return fail("cannot write", AVERROR(errno));
  }
  if (std::fclose(file.release()) != 0) return fail("cannot write", AVERROR(errno));
  return Status::ok();
}

}  // namespace streaminfer
