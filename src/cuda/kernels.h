#pragma once
// The CUDA kernels' host API: raw device pointers and sizes, no LibTorch, so the kernels are
// tested alone (tests/cuda/) and any backend can call them. Every launch returns the launch's
// own error; none synchronizes.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "cuda/detect_math.h"
#include "cuda/letterbox_sampling.h"

namespace streaminfer::cuda {

// What cudaGetDeviceCount says, in words: count 0 and `error` set on a machine without a GPU
// or driver ("cudaGetDeviceCount: CUDA driver version is insufficient ... (error 35)").
struct DeviceQuery {
  int count = 0;
  std::string error;
  std::string first_name;  // the first device's name and compute capability
};
DeviceQuery query_devices();

enum class TensorElement : int32_t { kFloat32 = 0, kFloat16 = 1 };

// One frame of a batch: planes in device memory (uploaded from pinned host buffers, or NVDEC
// surfaces), and the batch tensor's slot it is written to: 3 x dst_height x dst_width elements,
// planar R, G, B.
struct LetterboxJob {
  PlaneSource source;
  LetterboxGeometry geometry;
  void* output = nullptr;
};

// One launch for the whole batch: `jobs` (device memory, n entries) each fill their slot,
// padding included. max_dst_*: the largest geometry among the jobs (the grid's size).
cudaError_t launch_letterbox(const LetterboxJob* jobs, int n, int max_dst_width, int max_dst_height,
                             TensorElement element, cudaStream_t stream);

// Bytes of device scratch that launch_detect_yolov8 needs for this batch and anchor count.
size_t detect_scratch_bytes(int batch, int anchors);

// YOLOv8 output [batch, 4 + classes, anchors] (float32, device) -> for each frame the kept
// detections, highest score first, in kept[frame * max_detections ...] and their number in
// counts[frame]. One block per frame: threshold, sort, box decode, class-aware (or agnostic)
// greedy NMS and the max_detections cut all on the device; no host synchronization inside.
cudaError_t launch_detect_yolov8(const float* output, int batch, int channels, int anchors,
                                 const DetectParams& params, void* scratch, DeviceDetection* kept,
                                 int32_t* counts, cudaStream_t stream);

}  // namespace streaminfer::cuda
