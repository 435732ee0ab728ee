#pragma once
// Test helpers: decoded-looking frames (smooth or noisy, RGB24 / YUV420P / NV12) and their
// planes as the CUDA kernels read them.
#include <cstdint>
#include <vector>

#include "cuda/letterbox_sampling.h"
#include "streaminfer/frame.h"
#include "streaminfer/geometry.h"

namespace streaminfer::cuda_test {

enum class Content { kSmooth, kNoise };

// An RGB24 frame: random control points bilinearly blended, or pixel noise.
AvFramePtr rgb_frame(int width, int height, Content content, unsigned seed);
// `rgb` converted by libswscale to `av_pixel_format` (YUV420P or NV12), BT.601 video range
// unless told otherwise.
AvFramePtr converted(const AVFrame& rgb, int av_pixel_format, int colorspace = 2,
                     bool full_range = false);
// The planes of a frame in host memory, as the kernel reads them from device memory.
cuda::PlaneSource planes_of(const AVFrame& frame);
cuda::LetterboxGeometry geometry_of(const LetterboxTransform& t);

}  // namespace streaminfer::cuda_test
