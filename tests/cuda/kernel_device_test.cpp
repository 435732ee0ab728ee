// The kernels on the device against their CPU emulations (which the equivalence tests hold to
// the CPU path). Needs no FFmpeg, so it builds on a GPU machine without FFmpeg's headers. Without
// a device every case skips with one line. CTest label: gpu.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "cuda/emulated.h"
#include "cuda/kernels.h"
#include "random_yolo_output.h"

namespace streaminfer {
namespace {

#define SKIP_WITHOUT_DEVICE()                                                    \
  do {                                                                           \
    const cuda::DeviceQuery q = cuda::query_devices();                           \
    if (q.count == 0) GTEST_SKIP() << "no CUDA device here (" << q.error << ")"; \
  } while (false)

#define ASSERT_CUDA(call) ASSERT_EQ((call), cudaSuccess) << cudaGetErrorString(cudaGetLastError())

// Device memory that frees itself.
struct DeviceBuffer {
  void* ptr = nullptr;
  explicit DeviceBuffer(size_t bytes) {
    EXPECT_EQ(cudaMalloc(&ptr, std::max<size_t>(bytes, 1)), cudaSuccess);
  }
  ~DeviceBuffer() { cudaFree(ptr); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr);
  }
};

TEST(CudaKernels, DeviceQueryNamesTheDeviceOrSaysWhyNone) {
  const cuda::DeviceQuery q = cuda::query_devices();
  if (q.count == 0) {
    EXPECT_FALSE(q.error.empty());
    EXPECT_EQ(q.error.find('\n'), std::string::npos);
    GTEST_SKIP() << "no CUDA device here (" << q.error << ")";
  }
  EXPECT_FALSE(q.first_name.empty());
}

TEST(CudaKernels, DetectMatchesItsEmulationBitForBit) {
  SKIP_WITHOUT_DEVICE();
  cuda::DetectParams params;
  for (uint32_t seed = 1; seed <= 25; ++seed) {
    const auto r = cuda_test::random_yolo_output(16, 80, 8400, seed);
    for (bool agnostic : {false, true}) {
      params.class_agnostic = agnostic;
      DeviceBuffer output(r.values.size() * sizeof(float));
      DeviceBuffer scratch(cuda::detect_scratch_bytes(r.batch, r.anchors));
      DeviceBuffer kept(sizeof(cuda::DeviceDetection) * r.batch * params.max_detections);
      DeviceBuffer counts(sizeof(int32_t) * r.batch);
      // Poisoned: a kept row or count the kernel forgets to write shows up.
      ASSERT_CUDA(cudaMemset(kept.ptr, 0xff,
                             sizeof(cuda::DeviceDetection) * r.batch * params.max_detections));
      ASSERT_CUDA(cudaMemset(counts.ptr, 0xff, sizeof(int32_t) * r.batch));
      ASSERT_CUDA(cudaMemcpy(output.ptr, r.values.data(), r.values.size() * sizeof(float),
                             cudaMemcpyHostToDevice));
      ASSERT_CUDA(cuda::launch_detect_yolov8(output.as<float>(), r.batch, r.channels, r.anchors,
                                             params, scratch.ptr, kept.as<cuda::DeviceDetection>(),
                                             counts.as<int32_t>(), nullptr));
      ASSERT_CUDA(cudaDeviceSynchronize());
      std::vector<int32_t> n(r.batch);
      ASSERT_CUDA(
          cudaMemcpy(n.data(), counts.ptr, sizeof(int32_t) * r.batch, cudaMemcpyDeviceToHost));
      std::vector<cuda::DeviceDetection> rows(static_cast<size_t>(r.batch) * params.max_detections);
      ASSERT_CUDA(cudaMemcpy(rows.data(), kept.ptr, rows.size() * sizeof(cuda::DeviceDetection),
                             cudaMemcpyDeviceToHost));
      const auto expected =
          cuda::detect_yolov8_emulated(r.values.data(), r.batch, r.channels, r.anchors, params);
      for (int b = 0; b < r.batch; ++b) {
        ASSERT_EQ(static_cast<size_t>(n[b]), expected[b].size())
            << "seed " << seed << " frame " << b;
        for (int i = 0; i < n[b]; ++i) {
          ASSERT_EQ(std::memcmp(&rows[static_cast<size_t>(b) * params.max_detections + i],
                                &expected[b][i], sizeof(cuda::DeviceDetection)),
                    0)
              << "seed " << seed << " frame " << b << " detection " << i;
        }
      }
    }
  }
}

TEST(CudaKernels, LetterboxMatchesItsEmulationInOneLaunchPerBatch) {
  SKIP_WITHOUT_DEVICE();
  struct Case {
    cuda::PixelLayout layout;
    int sw, sh, dw, dh;
  };
  const Case cases[] = {{cuda::PixelLayout::kYuv420p, 1, 1, 32, 32},
                        {cuda::PixelLayout::kNv12, 7, 5, 64, 64},
                        {cuda::PixelLayout::kNv12, 1920, 1080, 640, 640},
                        {cuda::PixelLayout::kYuv420p, 640, 480, 320, 320},
                        {cuda::PixelLayout::kRgb24, 1280, 720, 640, 640}};
  std::mt19937 rng(3);
  std::vector<DeviceBuffer*> owned;
  std::vector<cuda::LetterboxJob> jobs;
  std::vector<std::vector<float>> expected;
  std::vector<std::vector<uint8_t>> hosts;
  int max_w = 0, max_h = 0;
  for (const Case& c : cases) {
    const int cw = (c.sw + 1) / 2, ch = (c.sh + 1) / 2;
    const bool rgb = c.layout == cuda::PixelLayout::kRgb24;
    const int strides[3] = {rgb ? 3 * c.sw : c.sw,
                            c.layout == cuda::PixelLayout::kNv12 ? 2 * cw : cw, cw};
    const int rows[3] = {c.sh, ch, c.layout == cuda::PixelLayout::kYuv420p ? ch : 0};
    cuda::PlaneSource host_source, device_source;
    host_source.layout = device_source.layout = c.layout;
    host_source.width = device_source.width = c.sw;
    host_source.height = device_source.height = c.sh;
    host_source.colour = device_source.colour = cuda::colour_for_colorspace(1, false);
    for (int p = 0; p < 3 && !(rgb && p > 0); ++p) {
      if (rows[p] == 0) continue;
      hosts.emplace_back(static_cast<size_t>(strides[p]) * rows[p]);
      for (auto& v : hosts.back()) v = static_cast<uint8_t>(rng() & 0xff);
      owned.push_back(new DeviceBuffer(hosts.back().size()));
      ASSERT_CUDA(cudaMemcpy(owned.back()->ptr, hosts.back().data(), hosts.back().size(),
                             cudaMemcpyHostToDevice));
      host_source.planes[p] = hosts.back().data();
      device_source.planes[p] = owned.back()->as<uint8_t>();
      host_source.strides[p] = device_source.strides[p] = strides[p];
    }
    const double scale =
        std::min(static_cast<double>(c.dw) / c.sw, static_cast<double>(c.dh) / c.sh);
    cuda::LetterboxGeometry g;
    g.dst_width = c.dw;
    g.dst_height = c.dh;
    g.resized_width = std::max(1, static_cast<int>(std::lround(c.sw * scale)));
    g.resized_height = std::max(1, static_cast<int>(std::lround(c.sh * scale)));
    g.pad_left = (c.dw - g.resized_width) / 2;
    g.pad_top = (c.dh - g.resized_height) / 2;
    expected.emplace_back(3 * static_cast<size_t>(c.dw) * c.dh);
    cuda::letterbox_emulated(host_source, g, expected.back().data());
    owned.push_back(new DeviceBuffer(expected.back().size() * sizeof(float)));
    ASSERT_CUDA(cudaMemset(owned.back()->ptr, 0xff, expected.back().size() * sizeof(float)));
    jobs.push_back({device_source, g, owned.back()->ptr});
    max_w = std::max(max_w, c.dw);
    max_h = std::max(max_h, c.dh);
  }
  DeviceBuffer job_buffer(jobs.size() * sizeof(cuda::LetterboxJob));
  ASSERT_CUDA(cudaMemcpy(job_buffer.ptr, jobs.data(), jobs.size() * sizeof(cuda::LetterboxJob),
                         cudaMemcpyHostToDevice));
  ASSERT_CUDA(cuda::launch_letterbox(job_buffer.as<cuda::LetterboxJob>(),
                                     static_cast<int>(jobs.size()), max_w, max_h,
                                     cuda::TensorElement::kFloat32, nullptr));
  ASSERT_CUDA(cudaDeviceSynchronize());
  for (size_t j = 0; j < jobs.size(); ++j) {
    std::vector<float> got(expected[j].size());
    ASSERT_CUDA(
        cudaMemcpy(got.data(), jobs[j].output, got.size() * sizeof(float), cudaMemcpyDeviceToHost));
    float worst = 0;
    for (size_t i = 0; i < got.size(); ++i)
      worst = std::max(worst, std::abs(got[i] - expected[j][i]));
    EXPECT_LE(worst, 1e-5f) << "case " << j;  // NaN (an unwritten poisoned value) fails too
  }
  for (DeviceBuffer* b : owned) delete b;
}

}  // namespace
}  // namespace streaminfer
