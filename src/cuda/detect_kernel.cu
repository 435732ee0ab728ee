// Batched YOLOv8 decode + NMS: one block per frame does the whole frame (threshold, sort, box
// decode, greedy NMS, the max_detections cut) with block barriers only, so a batch is one launch
// and nothing waits on the host; only the kept boxes leave the device.
#include <cstdint>

#include "cuda/kernels.h"

namespace streaminfer::cuda {
namespace {

constexpr int kThreads = 512;
constexpr int kWarps = kThreads / 32;

int next_pow2(int n) {
  int size = 1;
  while (size < n) size <<= 1;
  return size;
}

// One frame's scratch: sort keys (a power of two of them), then the decoded boxes, their areas
// and suppression flags.
size_t frame_scratch_bytes(int anchors) {
  const size_t bytes = static_cast<size_t>(next_pow2(anchors)) * sizeof(uint64_t) +
                       static_cast<size_t>(anchors) * (sizeof(DeviceDetection) + sizeof(float) + 1);
  return (bytes + 255) & ~static_cast<size_t>(255);
}

// Ascending bitonic sort of keys[0, size), size a power of two, by the whole block.
__device__ void bitonic_sort(uint64_t* keys, int size) {
  for (int k = 2; k <= size; k <<= 1) {
    for (int j = k >> 1; j > 0; j >>= 1) {
      for (int i = threadIdx.x; i < size; i += kThreads) {
        const int partner = i ^ j;
        if (partner > i) {
          const uint64_t a = keys[i], b = keys[partner];
          const bool ascending = (i & k) == 0;
          if ((a > b) == ascending) {
            keys[i] = b;
            keys[partner] = a;
          }
        }
      }
      __syncthreads();
    }
  }
}

__global__ void __launch_bounds__(kThreads)
    detect_kernel(const float* output, int channels, int anchors, DetectParams params,
                  char* scratch, size_t frame_scratch, DeviceDetection* kept, int32_t* counts) {
  const int b = blockIdx.x;
  const int classes = channels - 4;
  const float* frame = output + static_cast<size_t>(b) * channels * anchors;
  const float* scores = frame + static_cast<size_t>(4) * anchors;
  char* base = scratch + static_cast<size_t>(b) * frame_scratch;
  int pow2 = 1;
  while (pow2 < anchors) pow2 <<= 1;
  uint64_t* keys = reinterpret_cast<uint64_t*>(base);
  DeviceDetection* boxes = reinterpret_cast<DeviceDetection*>(keys + pow2);
  float* areas = reinterpret_cast<float*>(boxes + anchors);
  uint8_t* suppressed = reinterpret_cast<uint8_t*>(areas + anchors);

  __shared__ int candidate_count;
  __shared__ int box_count;
  __shared__ int warp_totals[kWarps];
  if (threadIdx.x == 0) candidate_count = box_count = 0;
  __syncthreads();

  // Candidates above the threshold, in whatever order the atomics give: the sort decides.
  for (int a = threadIdx.x; a < anchors; a += kThreads) {
    float score = 0;
    int32_t cls = 0;
    best_class(scores, classes, anchors, a, &score, &cls);
    if (score > params.score_threshold)
      keys[atomicAdd(&candidate_count, 1)] = candidate_key(score, a);
  }
  __syncthreads();
  const int found = candidate_count;
  int size = 1;
  while (size < found) size <<= 1;
  for (int i = found + threadIdx.x; i < size; i += kThreads) keys[i] = ~0ull;
  __syncthreads();
  bitonic_sort(keys, size);

  // The first max_candidates decoded; the non-finite left out, the order kept (a block-wide
  // prefix count of the finite ones places each box).
  const int n = found < params.max_candidates ? found : params.max_candidates;
  const unsigned lane = threadIdx.x & 31u, warp = threadIdx.x >> 5;
  for (int start = 0; start < n; start += kThreads) {
    const int i = start + static_cast<int>(threadIdx.x);
    DeviceDetection d;
    bool ok = false;
    if (i < n) {
      const int32_t a = key_anchor(keys[i]);
      float score = 0;
      int32_t cls = 0;
      best_class(scores, classes, anchors, a, &score, &cls);
      ok = decode_box(frame, anchors, a, score, cls, &d);
    }
    const unsigned ballot = __ballot_sync(0xffffffffu, ok);
    if (lane == 0) warp_totals[warp] = __popc(ballot);
    __syncthreads();
    int offset = __popc(ballot & ((1u << lane) - 1u));
    for (unsigned w = 0; w < warp; ++w) offset += warp_totals[w];
    if (ok) {
      const int at = box_count + offset;
      boxes[at] = d;
      areas[at] = box_area(d);
      suppressed[at] = 0;
    }
    __syncthreads();
    if (threadIdx.x == kThreads - 1) box_count += offset + (ok ? 1 : 0);
    __syncthreads();
  }

  // Greedy NMS down the sorted list: every thread walks the same list in step (the flags it reads
  // were written before the last barrier); the lower-ranked boxes are split among the threads.
  const int m = box_count;
  DeviceDetection* out = kept + static_cast<size_t>(b) * params.max_detections;
  int kept_count = 0;
  for (int r = 0; r < m; ++r) {
    if (suppressed[r] != 0) continue;
    if (kept_count >= params.max_detections) break;
    const DeviceDetection a = boxes[r];
    const float area = areas[r];
    if (threadIdx.x == 0) out[kept_count] = a;
    ++kept_count;
    for (int j = r + 1 + static_cast<int>(threadIdx.x); j < m; j += kThreads) {
      if (!params.class_agnostic && boxes[j].class_id != a.class_id) continue;
      if (suppresses(a, area, boxes[j], areas[j], params.iou_threshold)) suppressed[j] = 1;
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) counts[b] = kept_count;
}

}  // namespace

size_t detect_scratch_bytes(int batch, int anchors) {
  if (batch <= 0 || anchors <= 0) return 0;
  return static_cast<size_t>(batch) * frame_scratch_bytes(anchors);
}

cudaError_t launch_detect_yolov8(const float* output, int batch, int channels, int anchors,
                                 const DetectParams& params, void* scratch, DeviceDetection* kept,
                                 int32_t* counts, cudaStream_t stream) {
  if (batch <= 0) return cudaSuccess;
  if (output == nullptr || counts == nullptr || channels < 5 || anchors <= 0 ||
      params.max_detections < 0) {
    return cudaErrorInvalidValue;
  }
  if (params.max_detections == 0 || params.max_candidates <= 0) {
    return cudaMemsetAsync(counts, 0, sizeof(int32_t) * batch, stream);
  }
  if (scratch == nullptr || kept == nullptr) return cudaErrorInvalidValue;
  detect_kernel<<<batch, kThreads, 0, stream>>>(output, channels, anchors, params,
                                                static_cast<char*>(scratch),
                                                frame_scratch_bytes(anchors), kept, counts);
  return cudaGetLastError();
}

}  // namespace streaminfer::cuda
