#pragma once
#include "infer/backend.h"

namespace streaminfer {

// LibTorch on the CPU: a built-in architecture (yolov8n, yolov8s) or a TorchScript detector file
// whose output is [B, 4 + nc, A] (Ultralytics' TorchScript export).
Result<std::unique_ptr<InferenceBackend>> create_libtorch_cpu_backend(
    const BackendOptions& options);

// Names accepted by --model besides file paths.
const std::vector<std::string>& builtin_model_names();

}  // namespace streaminfer
