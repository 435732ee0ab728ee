// The fused letterbox kernel: one thread per output pixel of every frame of the batch (the grid's
// z is the frame), planes -> resized RGB -> [0, 1] written straight into the batch tensor's slot.
// No intermediate image: each pixel reads its taps from the decoded planes.
#include <cuda_fp16.h>

#include "cuda/kernels.h"

namespace streaminfer::cuda {
namespace {

constexpr int kBlockX = 32, kBlockY = 8;

template <typename T>
__device__ T to_element(float v);
template <>
__device__ float to_element<float>(float v) {
  return v;
}
template <>
__device__ __half to_element<__half>(float v) {
  return __float2half_rn(v);
}

template <typename T>
__global__ void letterbox_kernel(const LetterboxJob* jobs) {
  const LetterboxJob& job = jobs[blockIdx.z];
  const int x = blockIdx.x * kBlockX + threadIdx.x;
  const int y = blockIdx.y * kBlockY + threadIdx.y;
  const LetterboxGeometry& g = job.geometry;
  if (x >= g.dst_width || y >= g.dst_height) return;
  float rgb[3];
  letterbox_pixel(job.source, g, x, y, rgb);
  const size_t plane = static_cast<size_t>(g.dst_width) * g.dst_height;
  const size_t at = static_cast<size_t>(y) * g.dst_width + x;
  T* out = static_cast<T*>(job.output);
  out[at] = to_element<T>(rgb[0]);
  out[plane + at] = to_element<T>(rgb[1]);
  out[2 * plane + at] = to_element<T>(rgb[2]);
}

}  // namespace

cudaError_t launch_letterbox(const LetterboxJob* jobs, int n, int max_dst_width, int max_dst_height,
                             TensorElement element, cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  if (jobs == nullptr || max_dst_width <= 0 || max_dst_height <= 0) return cudaErrorInvalidValue;
  const dim3 block(kBlockX, kBlockY);
  const dim3 grid((max_dst_width + kBlockX - 1) / kBlockX, (max_dst_height + kBlockY - 1) / kBlockY,
                  static_cast<unsigned>(n));
  if (element == TensorElement::kFloat16) {
    letterbox_kernel<__half><<<grid, block, 0, stream>>>(jobs);
  } else {
    letterbox_kernel<float><<<grid, block, 0, stream>>>(jobs);
  }
  return cudaGetLastError();
}

}  // namespace streaminfer::cuda
