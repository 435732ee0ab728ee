#include <string>

#include "cuda/kernels.h"

namespace streaminfer::cuda {

DeviceQuery query_devices() {
  DeviceQuery q;
  const cudaError_t error = cudaGetDeviceCount(&q.count);
  if (error != cudaSuccess) {
    q.count = 0;
    q.error = std::string("cudaGetDeviceCount: ") + cudaGetErrorString(error) + " (error " +
              std::to_string(static_cast<int>(error)) + ")";
    cudaGetLastError();  // not sticky: clear it for whoever asks next
    return q;
  }
  if (q.count == 0) {
    q.error = "cudaGetDeviceCount: no CUDA device";
    return q;
  }
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess) {
    q.first_name = std::string(prop.name) + " (compute capability " + std::to_string(prop.major) +
                   "." + std::to_string(prop.minor) + ")";
  }
  return q;
}

}  // namespace streaminfer::cuda
