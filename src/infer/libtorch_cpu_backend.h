#pragma once
#include "infer/backend.h"

namespace streaminfer {

// LibTorch on the CPU: a built-in architecture (model_zoo.h) or a TorchScript detector file
// whose output is [B, 4 + nc, A] (Ultralytics' TorchScript export).
Result<std::unique_ptr<InferenceBackend>> create_libtorch_cpu_backend(
    const BackendOptions& options);

}  // namespace streaminfer
