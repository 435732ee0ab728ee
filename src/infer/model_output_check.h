#pragma once
// Every model output is checked against the batch it was given before anything indexes it: a
// TorchScript detector traced at batch 1 with a fixed view returns [1, 4 + nc, A] for a batch of
// 2, and decoding frame 2 from it would read past the tensor.
#include <ATen/core/Tensor.h>

#include <cstdint>

#include "infer/backend.h"
#include "streaminfer/status.h"

namespace streaminfer {

// Ok when `output` is float32, contiguous and shaped [batch, 4 + nc, A] (a detector; nc and A
// as info says) or [batch, nc] (a classifier). Otherwise one line naming the model, the batch
// size and both shapes, and what to do.
Status check_model_output(const ModelInfo& info, int64_t batch, const at::Tensor& output);

// The last line of an exception message that says why (TorchScript's interpreter puts the
// model's own error, "RuntimeError: shape '[1, 8, 2100]' is invalid...", after its traceback),
// or the first line when no line looks like an error.
std::string error_reason(std::string_view what);

}  // namespace streaminfer
