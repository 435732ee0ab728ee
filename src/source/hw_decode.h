#pragma once
// --hwdec cuda: FFmpeg's CUDA hwaccel (NVDEC through libavcodec's hwcontext_cuda). Where the
// driver, libnvcuvid or the codec's CUDA path is missing, the CPU decoder runs and the stream
// says why in one line.
#include <string>

#include "streaminfer/status.h"

struct AVCodec;
struct AVCodecContext;
struct AVFrame;

namespace streaminfer {

// Values of --hwdec.
inline constexpr const char* kHwdecNone = "none";
inline constexpr const char* kHwdecCuda = "cuda";

// Sets `decoder` (allocated, not yet opened) to decode on the first CUDA device. Returns empty
// when it will, else the reason it decodes on the CPU ("no CUDA device for decoding
// (av_hwdevice_ctx_create: ...)").
std::string attach_cuda_decoder(AVCodecContext* decoder, const AVCodec* codec);

// A frame decoded into device memory (AV_PIX_FMT_CUDA) is copied to a system-memory frame (NV12
// for 8-bit video) in place of it, for preprocessing on the CPU; other frames are left as they are.
Status download_hardware_frame(AVFrame* frame);

}  // namespace streaminfer
