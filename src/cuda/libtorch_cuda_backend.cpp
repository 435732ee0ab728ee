#include "cuda/libtorch_cuda_backend.h"

#include <ATen/Context.h>
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <fmt/format.h>
#include <torch/nn/module.h>
#include <torch/script.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <map>
#include <vector>

#include "cuda/kernels.h"
#include "infer/model_loading.h"
#include "infer/model_output_check.h"
#include "profile/nvtx.h"

namespace streaminfer {
namespace {

std::string percentiles(std::vector<double> values) {
  if (values.empty()) return "none";
  std::sort(values.begin(), values.end());
  const auto at = [&](double q) {
    return values[std::min(values.size() - 1, static_cast<size_t>(q * values.size()))];
  };
  return fmt::format("p50 {:.3f} ms, p99 {:.3f} ms", at(0.5), at(0.99));
}

// One of the two pinned host buffers and its device twin: while the forward of one call runs on
// the compute stream, the next call's frames are copied into the other on the upload stream.
struct Slot {
  at::Tensor pinned, device;
  at::cuda::CUDAEvent upload_start{cudaEventDefault}, upload_done{cudaEventDefault};
  bool used = false;
};

class LibTorchCudaBackend : public InferenceBackend {
 public:
  explicit LibTorchCudaBackend(bool cuda_graphs)
      : cuda_graphs_(cuda_graphs),
        upload_stream_(c10::cuda::getStreamFromPool()),
        compute_stream_(c10::cuda::getStreamFromPool()) {}

  const ModelInfo& info() const override { return info_; }

  Result<at::Tensor> infer(const at::Tensor& input) override {
    SI_NVTX_RANGE("cuda infer");
    const int64_t n = input.size(0);
    Slot& slot = slots_[next_slot_++ % slots_.size()];
    if (slot.used) slot.upload_done.synchronize();  // its pinned buffer may be overwritten now
    slot.used = true;
    try {
      c10::InferenceMode inference_mode;
      if (!slot.pinned.defined() || slot.pinned.sizes() != input.sizes()) {
        slot.pinned =
            at::empty(input.sizes(), at::TensorOptions().dtype(at::kFloat).pinned_memory(true));
        slot.device =
            at::empty(input.sizes(), at::TensorOptions().dtype(at::kFloat).device(device_));
      }
      slot.pinned.copy_(input);
      {
        SI_NVTX_RANGE("upload");
        c10::cuda::CUDAStreamGuard guard(upload_stream_);
        slot.upload_start.record(upload_stream_);
        slot.device.copy_(slot.pinned, /*non_blocking=*/true);
        slot.upload_done.record(upload_stream_);
      }
      slot.upload_done.block(compute_stream_);
      c10::cuda::CUDAStreamGuard guard(compute_stream_);
      at::cuda::CUDAEvent exec_start(cudaEventDefault), exec_done(cudaEventDefault),
          download_done(cudaEventDefault);
      exec_start.record(compute_stream_);
      at::Tensor output;
      {
        SI_NVTX_RANGE("exec");
        auto forwarded = cuda_graphs_ ? graph_forward(slot.device) : forward(slot.device);
        if (!forwarded) return forwarded.status();
        output = forwarded.value();
      }
      exec_done.record(compute_stream_);
      at::Tensor host;
      {
        SI_NVTX_RANGE("download");
        host = at::empty(output.sizes(), at::TensorOptions().dtype(at::kFloat).pinned_memory(true));
        host.copy_(output.to(at::kFloat), /*non_blocking=*/true);
        download_done.record(compute_stream_);
        download_done.synchronize();
      }
      times_.push_back({slot.upload_start.elapsed_time(slot.upload_done),
                        exec_start.elapsed_time(exec_done), exec_done.elapsed_time(download_done)});
      SI_RETURN_IF_ERROR(check_model_output(info_, n, host));
      mark_batch_size_checked(n);
      return host;
    } catch (const std::exception& e) {
      return Status::error(fmt::format("model '{}' failed on input {} on {}: {}", info_.name,
                                       fmt::join(input.sizes(), "x"), device_name_,
                                       error_reason(e.what())));
    }
  }

  std::string end_of_run_report() const override {
    if (times_.empty()) return {};
    std::vector<double> upload, exec, download;
    for (const auto& t : times_) {
      upload.push_back(t.upload_ms);
      exec.push_back(t.exec_ms);
      download.push_back(t.download_ms);
    }
    return fmt::format(
        "cuda ({}), {} call(s), CUDA events: upload {}; exec {}; download {}{}\n", device_name_,
        times_.size(), percentiles(upload), percentiles(exec), percentiles(download),
        cuda_graphs_ ? fmt::format("; CUDA graphs captured for {} batch size(s)", graphs_.size())
                     : "");
  }
  void reset_report() override { times_.clear(); }
  std::vector<DeviceStageTimes> device_times() const override { return times_; }

  Status load(const BackendOptions& options) {
    const cuda::DeviceQuery devices = cuda::query_devices();
    if (devices.count == 0) {
      return Status::error(fmt::format(
          "--device cuda: no usable CUDA GPU ({}); check nvidia-smi, or use --device cpu",
          devices.error));
    }
    device_name_ = devices.first_name;
    if (options.precision == "int8") {
      return Status::error(
          "--precision int8 runs on the cpu only; on --device cuda use fp16, bf16 or fp32");
    }
    if (options.precision != "auto" && options.precision != "fp32" && options.precision != "fp16" &&
        options.precision != "bf16") {
      return Status::error(
          fmt::format("--precision {}: unknown precision (auto, fp32, fp16 or bf16 on cuda)",
                      options.precision));
    }
    // auto chooses by measurement on the cpu only so far: fp32 here, and it says so.
    if (options.precision == "auto") {
      info_.precision_why =
          "auto: fp32 (on cuda auto does not measure fp16 yet: --precision fp16 runs on the "
          "tensor cores)";
    }
    if (!options.split_point.empty()) {
      return Status::error(
          "--split-point runs on the cpu backend only; leave it out with --device cuda");
    }
    dtype_ = options.precision == "fp16"   ? at::kHalf
             : options.precision == "bf16" ? at::kBFloat16
                                           : at::kFloat;
    info_.precision = options.precision == "auto" ? "fp32" : options.precision;
    // cuDNN times its algorithms for each new input shape once and keeps the fastest: the
    // warm-up pays for it, the run does not.
    at::globalContext().setBenchmarkCuDNN(true);
    try {
      const auto& names = builtin_model_names();
      if (std::find(names.begin(), names.end(), options.model) != names.end()) {
        SI_RETURN_IF_ERROR(build(options));
      } else {
        SI_RETURN_IF_ERROR(load_torchscript(options));
      }
    } catch (const std::exception& e) {
      return Status::error(fmt::format("--model {}: cannot load on {}: {}", options.model,
                                       device_name_, error_reason(e.what())));
    }
    info_.micro_batch = 0;  // the GPU runs the whole batch in one forward
    info_.micro_batch_why = "cuda: one forward per batch";
    return Status::ok();
  }

 private:
  Status build(const BackendOptions& options) {
    const BuiltinSpec& spec = *find_builtin(options.model);
    std::string weights;
    auto loaded = load_builtin_model(options, &info_, &weights);
    if (!loaded) return loaded.status();
    builtin_ = std::move(loaded.value());
    torch::nn::Module& module = *builtin_.module;
    // Folded in float32 on the CPU, then moved and converted: half weights, float32 box decode
    // (the output is converted back before it leaves the device).
    module.to(device_, dtype_);
    const int size = options.input_size > 0 ? options.input_size : builtin_.default_input_size;
    SI_RETURN_IF_ERROR(probe(options, size));
    info_.description =
        fmt::format("{} (built-in C++ {}, {:.2f} M parameters, {}, {} on {})", options.model,
                    builtin_.task == ModelTask::kClassify ? "classifier" : "detector",
                    info_.num_parameters / 1e6,
                    info_.random_weights ? "random weights" : "weights '" + weights + "'",
                    info_.precision, device_name_);
    if (spec.labels.size() == static_cast<size_t>(info_.num_classes)) info_.labels = spec.labels;
    return Status::ok();
  }

  Status load_torchscript(const BackendOptions& options) {
    if (!std::filesystem::exists(options.model)) {
      return Status::error(fmt::format("--model: '{}' is neither a built-in model ({}) nor a file",
                                       options.model, fmt::join(builtin_model_names(), ", ")));
    }
    info_.name = std::filesystem::path(options.model).stem().string();
    scripted_ = torch::jit::load(options.model, device_);
    scripted_.eval();
    for (const auto& p : scripted_.parameters()) info_.num_parameters += p.numel();
    if (dtype_ != at::kFloat) scripted_.to(dtype_);
    if (options.fuse_bn) {
      try {
        scripted_ = torch::jit::freeze(scripted_);
      } catch (const std::exception&) {
        // A module that cannot be frozen runs as it is.
      }
    }
    const int size = options.input_size > 0 ? options.input_size : 640;
    SI_RETURN_IF_ERROR(probe(options, size));
    info_.description =
        fmt::format("{} (TorchScript '{}', {:.2f} M parameters, {} classes, {} on {})", info_.name,
                    options.model, info_.num_parameters / 1e6, info_.num_classes, info_.precision,
                    device_name_);
    return Status::ok();
  }

  Status probe(const BackendOptions& options, int input_size) {
    info_.input_width = info_.input_height = input_size;
    c10::cuda::CUDAStreamGuard guard(compute_stream_);
    auto result =
        forward(at::zeros({1, 3, input_size, input_size}, at::TensorOptions().device(device_)));
    if (!result) return Status::error(fmt::format("--model: {}", result.status().message()));
    return read_output_layout(result.value().to(at::kCPU), options.model, input_size, &info_);
  }

  // On the current stream; the input is float32 on the device, the output as the model gives it.
  Result<at::Tensor> forward(const at::Tensor& input) {
    c10::InferenceMode inference_mode;
    const at::Tensor x = dtype_ == at::kFloat ? input : input.to(dtype_);
    if (builtin_.module) return builtin_.forward(x);
    return detection_tensor(scripted_.forward({x}));
  }

  // --cuda-graphs: the forward captured once per batch size into a graph that replays on fixed
  // input and output tensors (no launch overhead per kernel); capture follows one warm-up forward
  // on the same stream, as capture requires.
  Result<at::Tensor> graph_forward(const at::Tensor& input) {
    const int64_t n = input.size(0);
    auto found = graphs_.find(n);
    if (found == graphs_.end()) {
      Captured captured;
      captured.input = at::empty_like(input);
      captured.input.copy_(input);
      auto warm = forward(captured.input);
      if (!warm) return warm.status();
      compute_stream_.synchronize();
      captured.graph = std::make_unique<at::cuda::CUDAGraph>();
      captured.graph->capture_begin();
      auto out = forward(captured.input);
      captured.graph->capture_end();
      if (!out) return out.status();
      captured.output = out.value();
      found = graphs_.emplace(n, std::move(captured)).first;
    }
    found->second.input.copy_(input, /*non_blocking=*/true);
    found->second.graph->replay();
    return found->second.output;
  }

  struct Captured {
    std::unique_ptr<at::cuda::CUDAGraph> graph;
    at::Tensor input, output;
  };

  ModelInfo info_;
  bool cuda_graphs_ = false;
  at::Device device_{at::kCUDA, 0};
  at::ScalarType dtype_ = at::kFloat;
  std::string device_name_;
  BuiltinModel builtin_;
  torch::jit::script::Module scripted_;
  c10::cuda::CUDAStream upload_stream_, compute_stream_;
  std::array<Slot, 2> slots_;
  size_t next_slot_ = 0;
  std::map<int64_t, Captured> graphs_;
  std::vector<DeviceStageTimes> times_;
};

}  // namespace

Result<std::unique_ptr<InferenceBackend>> create_libtorch_cuda_backend(
    const BackendOptions& options) {
  // Checked before any stream is made: without a device, getStreamFromPool would throw.
  const cuda::DeviceQuery devices = cuda::query_devices();
  if (devices.count == 0) {
    return Status::error(
        fmt::format("--device cuda: no usable CUDA GPU ({}); check nvidia-smi, or use --device cpu",
                    devices.error));
  }
  auto backend = std::make_unique<LibTorchCudaBackend>(options.cuda_graphs);
  SI_RETURN_IF_ERROR(backend->load(options));
  return std::unique_ptr<InferenceBackend>(std::move(backend));
}

}  // namespace streaminfer
