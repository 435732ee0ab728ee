#pragma once
// Post-training int8 building blocks on LibTorch's quantized CPU operators (the oneDNN quantized
// engine: int8 convolutions with AVX-512 VNNI where the CPU has it). LibTorch 1.13's C++ API has
// no quantization workflow (observers, prepare/convert are Python-only), but the operators the
// Python workflow ends in are registered in the dispatcher and callable from C++: these wrap them.
//
// Activations are quint8 with one scale and zero point per tensor, measured on calibration
// images; weights are qint8, symmetric, one scale per output channel.
#include <ATen/core/ivalue.h>
#include <torch/types.h>

#include "infer/code_lookup.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace streaminfer::int8 {

// An activation's quantization: real value = scale * (q - zero_point), q in 0..255.
struct QuantParams {
  double scale = 1.0;
  int64_t zero_point = 0;
};

// Running minimum and maximum of a tensor site over the calibration forwards.
class RangeObserver {
 public:
  void observe(const torch::Tensor& x);
  // A range measured before (a calibration cache), as if observed.
  void set(float min, float max) {
    min_ = min;
    max_ = max;
    seen_ = true;
  }
  float min() const { return min_; }
  float max() const { return max_; }

 private:
  bool seen_ = false;
  float min_ = 0, max_ = 0;
};

// The quint8 parameters that cover [min, max] (and 0, so that zero padding is exact).
QuantParams params_for_range(float min, float max);

// Whether LibTorch was built with a quantized engine that runs these operators on this CPU
// ("onednn" or "fbgemm"); empty when none. Selects it as LibTorch's quantized engine.
std::string select_quantized_engine();

// A convolution's weights quantized per output channel and packed for the engine.
struct PackedConv {
  c10::IValue packed;
};
PackedConv pack_conv(const torch::Tensor& weight, const torch::Tensor& bias, int64_t stride,
                     int64_t padding);

// A float32 [B, C, H, W] tensor to channels-last quint8, and back (same layout as the input).
torch::Tensor quantize(const torch::Tensor& x, QuantParams params);
torch::Tensor dequantize(const torch::Tensor& q);
// relu: the ReLU fused into the operator (ResNet's convolutions and residual adds).
torch::Tensor conv(const torch::Tensor& qx, const PackedConv& conv, QuantParams out,
                   bool relu = false);
torch::Tensor add(const torch::Tensor& qa, const torch::Tensor& qb, QuantParams out,
                  bool relu = false);
// Concatenation along channels of channels-last quint8 tensors (or channel slices of them) into
// one with `out`'s parameters.
torch::Tensor cat(const std::vector<torch::Tensor>& qs, QuantParams out);

// An element-wise function as a 256-entry table from input codes to output codes: SiLU between
// two int8 convolutions costs one byte lookup per element instead of dequantize, SiLU in float
// and quantize again (which took 85% of an int8 YOLOv8 forward in PyTorch's own workflow here).
CodeTable silu_table(QuantParams in, QuantParams out);
torch::Tensor apply_table(const torch::Tensor& q, const CodeTable& table, QuantParams out);
// The table that moves codes from one scale and zero point to another.
CodeTable requantize_table(QuantParams in, QuantParams out);

}  // namespace streaminfer::int8
