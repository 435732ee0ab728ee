#pragma once
// The bfloat16 candidate of --precision auto: a copy of a built-in model in bfloat16, timed at
// load beside float32 (and int8) where the CPU has bfloat16 instructions of its own.
#include <string>

#include "infer/model_zoo.h"
#include "infer/precision_probe.h"
#include "streaminfer/status.h"

namespace streaminfer {

// Whether the probe's bfloat16 convolutions ran on kernels built on the CPU's own bfloat16
// instructions (AVX-512 BF16 or AMX: oneDNN names them `..._bf16` or `..._amx`) rather than on
// oneDNN's emulation with plain AVX-512 or a reference kernel. Only then can bfloat16 beat
// float32, so only then is it timed.
bool native_bf16(const PrecisionProbe& probe);

// A bfloat16, channels-last copy of `fp32` (the built-in model `name` with `num_classes`
// classes, BatchNorm folded when `fold_batch_norm`, as `fp32` was): the architecture built anew,
// `fp32`'s parameters and buffers copied by name (random weights included), then converted. Its
// forward takes a bfloat16 channels-last input; an error says what did not match.
Result<BuiltinModel> make_bf16_copy(const std::string& name, int num_classes,
                                    const BuiltinModel& fp32, bool fold_batch_norm);

}  // namespace streaminfer
