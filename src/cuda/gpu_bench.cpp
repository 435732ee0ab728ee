#include "cuda/gpu_bench.h"

#include <ATen/Functions.h>
#include <cuda_runtime_api.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <utility>
#include <vector>

#include "cuda/kernels.h"
#include "postprocess/yolo_decode.h"
#include "preprocess/letterbox.h"
#include "streaminfer/frame.h"

extern "C" {
#include <libavutil/frame.h>
}

namespace streaminfer {
namespace {

using Clock = std::chrono::steady_clock;

struct Row {
  Row(std::string what_, std::string variant_, int batch_)
      : what(std::move(what_)), variant(std::move(variant_)), batch(batch_) {}
  std::string what, variant;
  int batch = 0;
  std::vector<double> ms;         // per batch: host clock (CPU rows) or CUDA events (GPU rows)
  std::vector<double> device_ms;  // GPU rows: the device's busy time per batch, from events
  double p(double q) const {
    if (ms.empty()) return 0;
    std::vector<double> v = ms;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))];
  }
  double fps() const { return p(0.5) > 0 ? batch * 1000.0 / p(0.5) : 0; }
  double busy() const {  // share of the batch's time the device was working
    double all = 0, busy = 0;
    for (double v : ms) all += v;
    for (double v : device_ms) busy += v;
    return all > 0 && !device_ms.empty() ? busy / all : -1;
  }
};

Status cuda_ok(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return Status::ok();
  return Status::error(fmt::format("bench gpu: {}: {}", what, cudaGetErrorString(e)));
}

// Device memory freed on scope exit.
struct Device {
  void* p = nullptr;
  ~Device() { cudaFree(p); }
  Status allocate(size_t bytes) { return cuda_ok(cudaMalloc(&p, bytes), "cudaMalloc"); }
};

double event_ms(cudaEvent_t a, cudaEvent_t b) {
  float ms = 0;
  cudaEventElapsedTime(&ms, a, b);
  return ms;
}

// 1280x720 YUV420P camera-like frames (gradients that move per frame).
std::vector<AvFramePtr> camera_frames(int n) {
  std::vector<AvFramePtr> frames;
  for (int i = 0; i < n; ++i) {
    AvFramePtr f = make_av_frame();
    f->format = AV_PIX_FMT_YUV420P;
    f->width = 1280;
    f->height = 720;
    f->colorspace = AVCOL_SPC_BT709;
    if (av_frame_get_buffer(f.get(), 0) < 0) break;
    for (int p = 0; p < 3; ++p) {
      const int w = p == 0 ? 1280 : 640, h = p == 0 ? 720 : 360;
      for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w; ++x)
          f->data[p][y * f->linesize[p] + x] = (x + 3 * y + 7 * i + 50 * p) & 0xff;
      }
    }
    frames.push_back(std::move(f));
  }
  return frames;
}

Status preprocess_rows(int batch, int input, int reps, std::vector<Row>* rows) {
  const auto frames = camera_frames(batch);
  const size_t slot = 3 * static_cast<size_t>(input) * input;
  std::vector<float> host(slot * batch);
  Row cpu{"preprocess", "cpu (libswscale)", batch};
  LetterboxPreprocessor prep;
  for (int r = 0; r < reps + 1; ++r) {
    const auto start = Clock::now();
    for (int i = 0; i < batch; ++i) {
      SI_RETURN_IF_ERROR(prep.run(*frames[i], input, input, host.data() + i * slot, nullptr));
    }
    if (r > 0)
      cpu.ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  rows->push_back(cpu);

  // Planes in pinned host memory, uploaded each batch, then one launch for the batch.
  const size_t frame_bytes = 1280 * 720 * 3 / 2;
  uint8_t* pinned = nullptr;
  SI_RETURN_IF_ERROR(cuda_ok(cudaMallocHost(&pinned, frame_bytes * batch), "cudaMallocHost"));
  for (int i = 0; i < batch; ++i) {
    uint8_t* at = pinned + i * frame_bytes;
    for (int p = 0; p < 3; ++p) {
      const int w = p == 0 ? 1280 : 640, h = p == 0 ? 720 : 360;
      for (int y = 0; y < h; ++y)
        std::copy_n(frames[i]->data[p] + y * frames[i]->linesize[p], w, at + y * w);
      at += static_cast<size_t>(w) * h;
    }
  }
  Device planes, output, jobs;
  SI_RETURN_IF_ERROR(planes.allocate(frame_bytes * batch));
  SI_RETURN_IF_ERROR(output.allocate(slot * batch * sizeof(float)));
  SI_RETURN_IF_ERROR(jobs.allocate(sizeof(cuda::LetterboxJob) * batch));
  const auto t = LetterboxTransform::compute(1280, 720, input, input);
  std::vector<cuda::LetterboxJob> job(batch);
  for (int i = 0; i < batch; ++i) {
    uint8_t* base = static_cast<uint8_t*>(planes.p) + i * frame_bytes;
    cuda::PlaneSource& s = job[i].source;
    s.layout = cuda::PixelLayout::kYuv420p;
    s.width = 1280;
    s.height = 720;
    s.planes[0] = base;
    s.planes[1] = base + 1280 * 720;
    s.planes[2] = base + 1280 * 720 + 640 * 360;
    s.strides[0] = 1280;
    s.strides[1] = s.strides[2] = 640;
    s.colour = cuda::colour_for_colorspace(AVCOL_SPC_BT709, false);
    job[i].geometry = {input, input, t.resized_width, t.resized_height, t.pad_left, t.pad_top};
    job[i].output = static_cast<float*>(output.p) + i * slot;
  }
  SI_RETURN_IF_ERROR(cuda_ok(
      cudaMemcpy(jobs.p, job.data(), sizeof(cuda::LetterboxJob) * batch, cudaMemcpyHostToDevice),
      "copy jobs"));
  cudaStream_t stream = nullptr;
  cudaEvent_t e0, e1, e2;
  cudaStreamCreate(&stream);
  cudaEventCreate(&e0);
  cudaEventCreate(&e1);
  cudaEventCreate(&e2);
  Row gpu{"preprocess", "gpu (upload + fused kernel)", batch};
  Status status = Status::ok();
  for (int r = 0; r < reps + 1 && status.is_ok(); ++r) {
    cudaEventRecord(e0, stream);
    cudaMemcpyAsync(planes.p, pinned, frame_bytes * batch, cudaMemcpyHostToDevice, stream);
    cudaEventRecord(e1, stream);
    status = cuda_ok(cuda::launch_letterbox(static_cast<const cuda::LetterboxJob*>(jobs.p), batch,
                                            input, input, cuda::TensorElement::kFloat32, stream),
                     "letterbox kernel");
    cudaEventRecord(e2, stream);
    cudaEventSynchronize(e2);
    if (r > 0) {
      gpu.ms.push_back(event_ms(e0, e2));
      gpu.device_ms.push_back(event_ms(e0, e2));
    }
  }
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  cudaEventDestroy(e2);
  cudaStreamDestroy(stream);
  cudaFreeHost(pinned);
  SI_RETURN_IF_ERROR(status);
  rows->push_back(gpu);
  return Status::ok();
}

Status nms_rows(int batch, int reps, std::vector<Row>* rows) {
  constexpr int kChannels = 84, kAnchors = 8400;
  std::vector<float> out(static_cast<size_t>(batch) * kChannels * kAnchors);
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> unit(0, 1);
  for (size_t i = 0; i < out.size(); ++i) {
    const size_t row = (i / kAnchors) % kChannels;
    out[i] = row < 4 ? 20 + unit(rng) * 600 : unit(rng) * unit(rng) * unit(rng);
  }
  Row cpu{"decode + NMS", "cpu (vectorized)", batch};
  PostprocessOptions options;
  for (int r = 0; r < reps + 1; ++r) {
    const auto start = Clock::now();
    auto kept = decode_yolov8(out.data(), batch, kChannels, kAnchors, options);
    if (r > 0)
      cpu.ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  rows->push_back(cpu);

  cuda::DetectParams params;
  Device output, scratch, kept, counts;
  SI_RETURN_IF_ERROR(output.allocate(out.size() * sizeof(float)));
  SI_RETURN_IF_ERROR(scratch.allocate(cuda::detect_scratch_bytes(batch, kAnchors)));
  SI_RETURN_IF_ERROR(kept.allocate(sizeof(cuda::DeviceDetection) * batch * params.max_detections));
  SI_RETURN_IF_ERROR(counts.allocate(sizeof(int32_t) * batch));
  SI_RETURN_IF_ERROR(
      cuda_ok(cudaMemcpy(output.p, out.data(), out.size() * sizeof(float), cudaMemcpyHostToDevice),
              "copy output"));
  std::vector<int32_t> n(batch);
  std::vector<cuda::DeviceDetection> rows_back(static_cast<size_t>(batch) * params.max_detections);
  cudaEvent_t e0, e1;
  cudaEventCreate(&e0);
  cudaEventCreate(&e1);
  Row gpu{"decode + NMS", "gpu (one kernel, kept boxes copied back)", batch};
  Status status = Status::ok();
  for (int r = 0; r < reps + 1 && status.is_ok(); ++r) {
    const auto start = Clock::now();
    cudaEventRecord(e0, nullptr);
    status = cuda_ok(
        cuda::launch_detect_yolov8(static_cast<const float*>(output.p), batch, kChannels, kAnchors,
                                   params, scratch.p, static_cast<cuda::DeviceDetection*>(kept.p),
                                   static_cast<int32_t*>(counts.p), nullptr),
        "detect kernel");
    cudaEventRecord(e1, nullptr);
    cudaMemcpy(n.data(), counts.p, sizeof(int32_t) * batch, cudaMemcpyDeviceToHost);
    for (int b = 0; b < batch; ++b) {
      const size_t first = static_cast<size_t>(b) * params.max_detections;
      cudaMemcpy(rows_back.data() + first, static_cast<cuda::DeviceDetection*>(kept.p) + first,
                 sizeof(cuda::DeviceDetection) * n[b], cudaMemcpyDeviceToHost);
    }
    if (r > 0) {
      gpu.ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
      gpu.device_ms.push_back(event_ms(e0, e1));
    }
  }
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  SI_RETURN_IF_ERROR(status);
  rows->push_back(gpu);
  return Status::ok();
}

Status model_rows(const std::string& model, int input, int batch, int reps,
                  std::vector<Row>* rows) {
  for (const char* precision : {"fp32", "fp16"}) {
    for (bool graphs : {false, true}) {
      BackendOptions o;
      o.model = model;
      o.device = "cuda";
      o.precision = precision;
      o.cuda_graphs = graphs;
      o.input_size = input;
      auto backend = create_backend(o);
      if (!backend) return backend.status();
      SI_RETURN_IF_ERROR((*backend)->warm_up(batch, 3));
      (*backend)->reset_report();
      Row row{fmt::format("{} {} forward", model, input),
              fmt::format("{}, CUDA graphs {}", precision, graphs ? "on" : "off"), batch};
      const auto zeros = at::rand({batch, 3, input, input});
      for (int r = 0; r < reps; ++r) {
        const auto start = Clock::now();
        auto out = (*backend)->infer(zeros);
        if (!out) return out.status();
        row.ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
      }
      for (const auto& t : (*backend)->device_times()) {
        row.device_ms.push_back(t.upload_ms + t.exec_ms + t.download_ms);
      }
      rows->push_back(row);
    }
  }
  return Status::ok();
}

}  // namespace

Result<std::string> run_gpu_bench(const GpuBenchOptions& options) {
  const cuda::DeviceQuery devices = cuda::query_devices();
  if (devices.count == 0) {
    return Status::error(fmt::format("bench gpu: needs an NVIDIA GPU ({})", devices.error));
  }
  std::vector<Row> rows;
  for (int batch : {1, 8, 32}) {
    SI_RETURN_IF_ERROR(preprocess_rows(batch, 640, options.reps, &rows));
    SI_RETURN_IF_ERROR(nms_rows(batch, options.reps, &rows));
    SI_RETURN_IF_ERROR(model_rows("yolov8n", 640, batch, options.reps, &rows));
    SI_RETURN_IF_ERROR(model_rows("yolov8n-shapes", 320, batch, options.reps, &rows));
  }
  std::string table = fmt::format("bench gpu on {}\n{:<28} {:<42} {:>5} {:>10} {:>9} {:>9} {:>6}\n",
                                  devices.first_name, "stage", "variant", "batch", "frames/s",
                                  "p50 ms", "p99 ms", "busy");
  std::filesystem::create_directories(options.output_dir);
  std::ofstream csv(std::filesystem::path(options.output_dir) / "gpu_bench.csv");
  csv << "stage,variant,batch,frames_per_s,p50_ms,p99_ms,device_busy_share\n";
  for (const Row& r : rows) {
    const double busy = r.busy();
    table += fmt::format("{:<28} {:<42} {:>5} {:>10.1f} {:>9.3f} {:>9.3f} {:>6}\n", r.what,
                         r.variant, r.batch, r.fps(), r.p(0.5), r.p(0.99),
                         busy < 0 ? "-" : fmt::format("{:.0f}%", 100 * busy));
    csv << fmt::format("{},{},{},{:.2f},{:.4f},{:.4f},{}\n", r.what, r.variant, r.batch, r.fps(),
                       r.p(0.5), r.p(0.99), busy < 0 ? "" : fmt::format("{:.4f}", busy));
  }
  table +=
      "not measured: p99 end to end with 16 realtime 30 fps streams (the pipeline does not feed "
      "the fused preprocessing and NMS kernels yet; `run --device cuda` runs the model on the GPU "
      "with CPU preprocessing and NMS)\n";
  return table;
}

}  // namespace streaminfer
