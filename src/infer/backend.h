#pragma once
// Inference backends behind one small interface; create_backend() picks one from the registry by
// device name ("cpu" always; "cuda" only in builds with STREAMINFER_CUDA).
#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "infer/model_zoo.h"
#include "streaminfer/status.h"

namespace streaminfer {

struct BackendOptions {
  std::string model = "yolov8n";  // built-in architecture name or a TorchScript file path
  std::string weights;            // optional: parameters for a built-in architecture
  std::string device = "cpu";
  // Experimental: "model.N" runs a built-in YOLOv8 as layers 0..N, a hand-over of the tensors the
  // rest reads (copied, as they would be to another device), then layers N+1.. ; each part is
  // timed (InferenceBackend::end_of_run_report). Empty: one forward.
  std::string split_point;
  // fp32, bf16, fp16 or int8. On the cpu a reduced precision is probed first (precision_probe.h)
  // and falls back to fp32 when it cannot run; ModelInfo says what ran and why. int8: built-in
  // YOLOv8 detectors and ResNets, quantized at load after calibration on synthetic scenes.
  std::string precision = "fp32";
  // auto: the fastest at load (timed with the micro-batch sizes) of fp32, int8 where the model
  // has an int8 form, the probe ran int8 and int8 agrees with fp32 on held-out frames
  // (int8_agreement.h), and bf16 for a built-in model where the probe ran bf16 on the CPU's own
  // bfloat16 instructions and it is as accurate (bf16_copy.h). ModelInfo::precision_why says
  // which and why.
  //
  // int8 calibration: on `calibration_source` (calibration_frames.h: a file, a folder of images,
  // a live source; `calibration_frames` of them) or, when empty, on synthetic scenes; the ranges
  // are kept in `calibration_cache` (calibration_cache.h; empty: the default place) and read
  // from there on the next start. An explicit cache made for another model, size or weights is
  // an error.
  std::string calibration_source;
  int calibration_frames = 64;
  std::string calibration_cache;
  // Built-in architectures: fold BatchNorm into the convolutions at load (inference only; same
  // output within float rounding, fewer passes over memory). TorchScript files: freeze the module
  // (torch::jit::freeze folds Conv-BN the same way).
  bool fuse_bn = true;
  // Channels-last (NHWC) weights and inputs, oneDNN's native layout. Off by default: on the quiet
  // 2-core machine `bench model` measured it 0.81x of fused NCHW (yolov8n, 640, batch 4:
  // 255 vs 207 ms, bench/results/model/); same output within float rounding.
  bool channels_last = false;
  // A batch is run as forwards of at most this many frames. 0: measured at load (1, 2 or 4,
  // the fastest per frame). On the 2-core VM, yolov8n at 640 measured 1 without the tensor cache
  // and 4 with it (bench/results/tensor_cache/): what made large forwards slow there was page
  // faults on freshly mapped activations, which the cache removes.
  int micro_batch = 0;
  // Float32 forwards: "auto" times LibTorch's in NCHW and in channels-last ("libtorch-nhwc",
  // any model, TorchScript files included) and, for a built-in YOLOv8 detector or ResNet (or a
  // TorchScript file with a built-in YOLOv8's parameters: yolov8_from_torchscript.h), the oneDNN
  // plans' (yolov8_onednn.h, resnet_onednn.h: channels-last and blocked activations, activations
  // and residual adds fused into the convolutions) at load, with the micro-batch sizes, and keeps
  // the fastest per frame; or
  // "libtorch", "libtorch-nhwc", "onednn-nhwc", "onednn-blocked". The default here is
  // "libtorch" (no timing at load, like precision's fp32); `run` and the bench commands ask for
  // "auto", their flag's default.
  std::string fp32_kernels = "libtorch";
  // The oneDNN plans' 3x3 convolutions in Winograd's algorithm where it was measured faster
  // (onednn_layout.h); false: never (bench model's onednn_blocked_direct row).
  bool onednn_winograd = true;
  // Idle CPU tensor memory kept for reuse (caching_cpu_allocator.h); 0: LibTorch's allocator.
  // Process-wide: the last backend created sets it.
  int tensor_cache_mb = 1024;
  int threads = 0;  // LibTorch intra-op threads; 0 = all cores
  // cuda: capture the forward into a CUDA graph once per batch size and replay it.
  bool cuda_graphs = false;
  // Square model input, multiple of 32; 0: the model's own (640 for detectors, 224 for
  // classifiers). vit_b_16 takes 224 only.
  int input_size = 0;
  // Built-in architectures; 0: the model's own (80 COCO classes for the detectors, 1000 ImageNet
  // classes for the classifiers, as their published weights have).
  int num_classes = 0;
};

struct ModelInfo {
  std::string name;  // "yolov8n" or the file's stem
  // What infer() returns: detections [B, 4 + nc, A] or classification logits [B, nc].
  ModelTask task = ModelTask::kDetect;
  std::string description;  // one line for the start-up block
  int input_width = 640, input_height = 640;
  int num_classes = 0;
  int64_t num_anchors = 0;  // detectors
  int64_t num_parameters = 0;
  bool random_weights = false;
  std::vector<std::string> labels;
  // What runs: "fp32", or e.g. "bf16 (oneDNN ISA: ...; convolutions: ...)".
  std::string precision = "fp32";
  // One line when the requested precision could not run and fp32 runs instead (for a warning).
  std::string precision_fallback;
  // Why `precision` runs: "asked for" or what --precision auto measured.
  std::string precision_why = "asked for";
  // int8: what the activation ranges were measured on and where they are kept; empty otherwise.
  std::string calibration;
  int micro_batch = 0;          // frames per forward at most; see BackendOptions::micro_batch
  std::string micro_batch_why;  // "measured: 1: 51 ms/frame, 2: ...", or "set"
  // Which kernels run the float32 forwards ("libtorch", "libtorch-nhwc", "onednn-nhwc",
  // "onednn-blocked") and
  // why: "set", what was measured at load, or why the oneDNN plans are not candidates.
  std::string fp32_kernels = "libtorch";
  std::string fp32_kernels_why;
};

// "int8", "fp32", "bf16": the first word of ModelInfo::precision.
std::string precision_name(const ModelInfo& info);

// One forward's parts as the device measured them (CUDA events on the stream that ran each).
struct DeviceStageTimes {
  double upload_ms = 0, exec_ms = 0, download_ms = 0;
};

// Ownership: the caller owns the backend; infer() is called from one thread at a time. infer()
// checks every forward's output against its batch (model_output_check.h) before returning it.
class InferenceBackend {
 public:
  virtual ~InferenceBackend() = default;
  virtual const ModelInfo& info() const = 0;
  // input: [B, 3, H, W] float32 in [0, 1], contiguous, CPU. Returns float32, contiguous, CPU:
  // [B, 4 + nc, A] for a detector, [B, nc] logits for a classifier (info().task).
  virtual Result<at::Tensor> infer(const at::Tensor& input) = 0;
  // Lines for the end of the run's summary about what only the backend saw (e.g. the parts of a
  // split model); empty by default.
  virtual std::string end_of_run_report() const { return {}; }
  // Forgets what end_of_run_report() would say so far (called after the warm-up).
  virtual void reset_report() {}
  // Device-measured times of each forward since the last reset_report(), oldest first; empty
  // for a backend whose host clock is the device's (cpu).
  virtual std::vector<DeviceStageTimes> device_times() const { return {}; }
  // Runs `iterations` forwards on zeros of batch size `batch` so later timings are steady.
  Status warm_up(int batch, int iterations);
  // Runs one forward of every size a batch of up to `max_batch` frames is split into (1 ..
  // min(max_batch, micro-batch)) that no forward has run yet, so a model whose output does not
  // follow its input's batch fails before the first frame, with the sizes in its message.
  Status check_batch_sizes(int max_batch);

 protected:
  // A backend records each forward size whose output passed check_model_output().
  void mark_batch_size_checked(int64_t size) { checked_sizes_.insert(size); }

 private:
  std::set<int64_t> checked_sizes_;
};

using BackendFactory =
    std::function<Result<std::unique_ptr<InferenceBackend>>(const BackendOptions&)>;

// Validates the options and builds the backend for options.device.
Result<std::unique_ptr<InferenceBackend>> create_backend(const BackendOptions& options);
std::vector<std::string> available_devices();

// `streaminfer bench gpu` lives beside the cuda backend (src/cuda/gpu_bench.cpp): the registry
// hands it out where the build has that backend, and an empty function elsewhere.
struct GpuBenchOptions {
  std::string output_dir = "bench-out/gpu";
  int reps = 30;  // timed repetitions of each row
};
using GpuBench = std::function<Result<std::string>(const GpuBenchOptions&)>;
GpuBench gpu_bench();

// COCO's 80 class names, the label set of Ultralytics detectors.
const std::vector<std::string>& coco_labels();

}  // namespace streaminfer
