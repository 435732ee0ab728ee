#include "source/hw_decode.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/buffer.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libavutil/hwcontext.h>
}

namespace streaminfer {
namespace {

std::string error_text(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, text, sizeof text);
  return text;
}

// Device frames when the decoder offers them, else its first software format (a stream the CUDA
// path cannot take, e.g. 4:4:4, still decodes).
AVPixelFormat prefer_cuda(AVCodecContext*, const AVPixelFormat* offered) {
  for (const AVPixelFormat* f = offered; *f != AV_PIX_FMT_NONE; ++f) {
    if (*f == AV_PIX_FMT_CUDA) return *f;
  }
  return offered[0];
}

}  // namespace

std::string attach_cuda_decoder(AVCodecContext* decoder, const AVCodec* codec) {
  bool supported = false;
  for (int i = 0;; ++i) {
    const AVCodecHWConfig* config = avcodec_get_hw_config(codec, i);
    if (config == nullptr) break;
    if (config->device_type == AV_HWDEVICE_TYPE_CUDA &&
        (config->methods & AV_CODEC_HW_CONFIG_METHOD_HW_DEVICE_CTX) != 0) {
      supported = true;
    }
  }
  if (!supported) {
    return std::string("FFmpeg has no CUDA decoder for codec '") + codec->name + "'";
  }
  AVBufferRef* device = nullptr;
  const int ret = av_hwdevice_ctx_create(&device, AV_HWDEVICE_TYPE_CUDA, nullptr, nullptr, 0);
  if (ret < 0) {
    return "no CUDA device for decoding (av_hwdevice_ctx_create: " + error_text(ret) +
           "; needs the NVIDIA driver's libcuda and libnvcuvid)";
  }
  decoder->hw_device_ctx = device;  // the decoder owns the reference now
  decoder->get_format = prefer_cuda;
  return {};
}

Status download_hardware_frame(AVFrame* frame) {
  if (frame->format != AV_PIX_FMT_CUDA) return Status::ok();
  AVFrame* host = av_frame_alloc();
  if (host == nullptr) return Status::error("--hwdec cuda: out of memory for a decoded frame");
  int ret = av_hwframe_transfer_data(host, frame, 0);
  if (ret >= 0) ret = av_frame_copy_props(host, frame);
  if (ret < 0) {
    av_frame_free(&host);
    return Status::error("--hwdec cuda: cannot copy a decoded frame from the GPU (" +
                         error_text(ret) + ")");
  }
  av_frame_unref(frame);
  av_frame_move_ref(frame, host);
  av_frame_free(&host);
  return Status::ok();
}

}  // namespace streaminfer
