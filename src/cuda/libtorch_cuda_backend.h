#pragma once
// The cuda backend: LibTorch CUDA inference of the built-in models and TorchScript files, one
// registry line beside the cpu backend (src/infer/backend_registry.cpp). Linked only where
// LibTorch is a CUDA build (src/cuda/CMakeLists.txt).
#include <memory>

#include "infer/backend.h"

namespace streaminfer {

Result<std::unique_ptr<InferenceBackend>> create_libtorch_cuda_backend(
    const BackendOptions& options);

}  // namespace streaminfer
