#include "infer/quantized_ops.h"

#include <ATen/Parallel.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/ops/_empty_affine_quantized.h>
#include <ATen/record_function.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace streaminfer::int8 {

namespace {

// One boxed call of a registered operator. Boxed because the packed weights are a TorchBind
// class whose C++ type is not in LibTorch's installed headers; the per-call cost (microseconds)
// is small beside a convolution's.
c10::IValue call_operator(const c10::OperatorHandle& op, std::vector<c10::IValue> arguments) {
  torch::jit::Stack stack(std::make_move_iterator(arguments.begin()),
                          std::make_move_iterator(arguments.end()));
  op.callBoxed(&stack);
  return std::move(stack.back());
}

c10::OperatorHandle quantized_operator(const char* name, const char* overload) {
  // Looked up once per operator; the dispatcher's handles stay valid for the process.
  return c10::Dispatcher::singleton().findSchemaOrThrow(name, overload);
}

// The output code of f at each input code's real value.
template <typename Function>
CodeTable code_table(QuantParams in, QuantParams out, Function f) {
  CodeTable table{};
  for (int code = 0; code < 256; ++code) {
    const double y = f(in.scale * static_cast<double>(code - in.zero_point));
    const double out_code = y / out.scale + static_cast<double>(out.zero_point);
    table[code] = static_cast<uint8_t>(std::clamp(std::nearbyint(out_code), 0.0, 255.0));
  }
  return table;
}

}  // namespace

void RangeObserver::observe(const torch::Tensor& x) {
  const auto extremes = torch::aminmax(x.detach());
  const float lo = std::get<0>(extremes).item<float>();
  const float hi = std::get<1>(extremes).item<float>();
  min_ = seen_ ? std::min(min_, lo) : lo;
  max_ = seen_ ? std::max(max_, hi) : hi;
  seen_ = true;
}

QuantParams params_for_range(float min, float max) {
  const double lo = std::min(0.0, static_cast<double>(min));
  const double hi = std::max(0.0, static_cast<double>(max));
  QuantParams p;
  // A constant-zero tensor still needs a positive scale.
  p.scale = std::max((hi - lo) / 255.0, 1e-8);
  p.zero_point = static_cast<int64_t>(std::clamp(std::nearbyint(-lo / p.scale), 0.0, 255.0));
  return p;
}

std::string select_quantized_engine() {
  const auto& engines = at::globalContext().supportedQEngines();
  const auto has = [&](at::QEngine e) {
    return std::find(engines.begin(), engines.end(), e) != engines.end();
  };
  // FBGEMM and oneDNN are x86 int8 engines; QNNPACK (ARM) would run, slowly, so it is not used.
  for (const auto& [engine, name] :
       {std::pair{at::QEngine::FBGEMM, "fbgemm"}, std::pair{at::QEngine::ONEDNN, "onednn"}}) {
    if (has(engine)) {
      at::globalContext().setQEngine(engine);
      return name;
    }
  }
  return {};
}

PackedConv pack_conv(const torch::Tensor& weight, const torch::Tensor& bias, int64_t stride,
                     int64_t padding) {
  torch::NoGradGuard no_grad;
  const auto w = weight.detach().to(torch::kFloat32).contiguous();
  // Symmetric per output channel: the largest weight of each channel maps to 127.
  const auto scales = w.abs().amax({1, 2, 3}).clamp_min(1e-12).div(127.0).to(torch::kFloat64);
  const auto zero_points = torch::zeros({w.size(0)}, torch::kLong);
  const auto qweight = torch::quantize_per_channel(w, scales, zero_points, 0, torch::kQInt8);
  static const auto prepack = quantized_operator("quantized::conv2d_prepack", "");
  c10::optional<torch::Tensor> b;
  if (bias.defined()) b = bias.detach().to(torch::kFloat32).contiguous();
  const c10::List<int64_t> strides({stride, stride}), paddings({padding, padding}),
      dilations({1, 1});
  PackedConv packed;
  packed.packed =
      call_operator(prepack, {qweight, b, strides, paddings, dilations, static_cast<int64_t>(1)});
  return packed;
}

torch::Tensor quantize(const torch::Tensor& x, QuantParams params) {
  RECORD_FUNCTION("streaminfer::int8::quantize", std::vector<c10::IValue>());
  TORCH_CHECK(x.dim() == 4 && x.scalar_type() == torch::kFloat32,
              "int8::quantize: a float32 [B, C, H, W] tensor");
  // Straight from the float image (any layout) to channels-last codes in one pass: LibTorch's
  // path (a channels-last float copy, then quantize_per_tensor) reads and writes twice.
  const auto input = x.contiguous();
  const int64_t batch = x.size(0), channels = x.size(1), height = x.size(2), width = x.size(3);
  auto output =
      at::_empty_affine_quantized(x.sizes(), x.options().dtype(torch::kQUInt8), params.scale,
                                  params.zero_point, torch::MemoryFormat::ChannelsLast);
  const float* from = input.data_ptr<float>();
  auto* to = reinterpret_cast<uint8_t*>(output.data_ptr<c10::quint8>());
  const float inverse = static_cast<float>(1.0 / params.scale);
  const float zero = static_cast<float>(params.zero_point);
  at::parallel_for(0, batch * height, 16, [&](int64_t begin, int64_t end) {
    std::vector<uint8_t> codes(width);
    for (int64_t row = begin; row < end; ++row) {
      const int64_t b = row / height, h = row % height;
      uint8_t* out = to + row * width * channels;
      for (int64_t c = 0; c < channels; ++c) {
        const float* in = from + ((b * channels + c) * height + h) * width;
        // Round half up after the clamp (codes are never negative there): vectorizes, where
        // nearbyint does not.
        for (int64_t w = 0; w < width; ++w) {
          codes[w] = static_cast<uint8_t>(std::clamp(in[w] * inverse + zero, 0.0f, 255.0f) + 0.5f);
        }
        for (int64_t w = 0; w < width; ++w) out[w * channels + c] = codes[w];
      }
    }
  });
  return output;
}

torch::Tensor conv(const torch::Tensor& qx, const PackedConv& conv, QuantParams out, bool relu) {
  static const auto plain = quantized_operator("quantized::conv2d", "new");
  static const auto with_relu = quantized_operator("quantized::conv2d_relu", "new");
  return call_operator(relu ? with_relu : plain, {qx, conv.packed, out.scale, out.zero_point})
      .toTensor();
}

torch::Tensor add(const torch::Tensor& qa, const torch::Tensor& qb, QuantParams out, bool relu) {
  static const auto plain = quantized_operator("quantized::add", "");
  static const auto with_relu = quantized_operator("quantized::add_relu", "");
  return call_operator(relu ? with_relu : plain, {qa, qb, out.scale, out.zero_point}).toTensor();
}

torch::Tensor dequantize(const torch::Tensor& q) {
  RECORD_FUNCTION("streaminfer::int8::dequantize", std::vector<c10::IValue>());
  const auto format = q.suggest_memory_format();
  const auto input = q.contiguous(format);
  std::array<float, 256> values{};
  const double scale = q.q_scale();
  const int64_t zero_point = q.q_zero_point();
  for (int code = 0; code < 256; ++code) {
    values[code] = static_cast<float>(scale * static_cast<double>(code - zero_point));
  }
  auto output = torch::empty(input.sizes(), input.options().dtype(torch::kFloat32), format);
  const auto* from = reinterpret_cast<const uint8_t*>(input.data_ptr<c10::quint8>());
  float* to = output.data_ptr<float>();
  at::parallel_for(0, input.numel(), 1 << 15, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) to[i] = values[from[i]];
  });
  return output;
}

CodeTable requantize_table(QuantParams in, QuantParams out) {
  return code_table(in, out, [](double x) { return x; });
}

namespace {

// A [B, C, H, W] quint8 tensor whose channels are contiguous per pixel, pixels evenly spaced: a
// channels-last tensor or a channel slice of one (C2f's split). Anything else is copied first.
torch::Tensor pixel_major(const torch::Tensor& q) {
  const bool ok = q.stride(1) == 1 && q.stride(2) == q.stride(3) * q.size(3) &&
                  q.stride(0) == q.stride(2) * q.size(2);
  return ok ? q : q.contiguous(torch::MemoryFormat::ChannelsLast);
}

}  // namespace

torch::Tensor cat(const std::vector<torch::Tensor>& qs, QuantParams out) {
  RECORD_FUNCTION("streaminfer::int8::cat", std::vector<c10::IValue>());
  // LibTorch's quantized::cat dequantizes every input, concatenates in float and quantizes the
  // result (70% of an int8 YOLOv8 forward here); requantizing is a code table per input instead,
  // a copy when the input already has the output's parameters.
  TORCH_CHECK(!qs.empty() && qs[0].dim() == 4, "int8::cat: [B, C, H, W] tensors");
  struct Part {
    torch::Tensor tensor;
    const uint8_t* data;
    int64_t channels, pixel_stride, offset;
    bool same;
    CodeTable table;
  };
  std::vector<Part> parts;
  int64_t total_channels = 0;
  for (const auto& q : qs) {
    Part part;
    part.tensor = pixel_major(q);
    part.data = reinterpret_cast<const uint8_t*>(part.tensor.data_ptr<c10::quint8>());
    part.channels = q.size(1);
    part.pixel_stride = part.tensor.stride(3);
    part.offset = total_channels;
    const QuantParams in{q.q_scale(), q.q_zero_point()};
    part.same = in.scale == out.scale && in.zero_point == out.zero_point;
    if (!part.same) part.table = requantize_table(in, out);
    total_channels += part.channels;
    parts.push_back(std::move(part));
  }
  const auto& first = qs[0];
  auto output = at::_empty_affine_quantized(
      {first.size(0), total_channels, first.size(2), first.size(3)}, first.options(), out.scale,
      out.zero_point, torch::MemoryFormat::ChannelsLast);
  auto* to = reinterpret_cast<uint8_t*>(output.data_ptr<c10::quint8>());
  const int64_t pixels = first.size(0) * first.size(2) * first.size(3);
  at::parallel_for(0, pixels, 256, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      uint8_t* pixel = to + p * total_channels;
      for (const auto& part : parts) {
        const uint8_t* from = part.data + p * part.pixel_stride;
        uint8_t* into = pixel + part.offset;
        if (part.same) {
          std::memcpy(into, from, part.channels);
        } else {
          for (int64_t c = 0; c < part.channels; ++c) into[c] = part.table[from[c]];
        }
      }
    }
  });
  return output;
}

CodeTable silu_table(QuantParams in, QuantParams out) {
  return code_table(in, out, [](double x) { return x / (1.0 + std::exp(-x)); });
}

torch::Tensor apply_table(const torch::Tensor& q, const CodeTable& table, QuantParams out) {
  RECORD_FUNCTION("streaminfer::int8::apply_table", std::vector<c10::IValue>());
  const auto format = q.suggest_memory_format();
  const auto input = q.contiguous(format);
  auto output = at::_empty_affine_quantized(input.sizes(), input.options(), out.scale,
                                            out.zero_point, format);
  const auto* from = reinterpret_cast<const uint8_t*>(input.data_ptr<c10::quint8>());
  auto* to = reinterpret_cast<uint8_t*>(output.data_ptr<c10::quint8>());
  at::parallel_for(0, input.numel(), 1 << 16, [&](int64_t begin, int64_t end) {
    lookup_codes(from + begin, to + begin, end - begin, table);
  });
  return output;
}

}  // namespace streaminfer::int8
