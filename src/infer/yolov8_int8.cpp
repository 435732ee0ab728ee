#include "infer/yolov8_int8.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>

namespace streaminfer {

namespace {

// SiLU is below 0.003 in magnitude under -8: a convolution's output range need not reach lower
// to keep the SiLU after it exact to a code, and every code saved there refines the rest.
constexpr float kPreActivationFloor = -8.0f;

constexpr int kC2fLayers[] = {2, 4, 6, 8, 12, 15, 18, 21};

std::string int8_layer_name(int index) { return fmt::format("model.{}", index); }

}  // namespace

YoloV8Int8::YoloV8Int8(YoloV8 model) : model_(std::move(model)) {}

Result<YoloV8Int8> YoloV8Int8::create(YoloV8 model) {
  if (!model) return Status::error("int8: no model");
  YoloV8Int8 int8(model);
  SI_RETURN_IF_ERROR(int8.take_parameters(*model, "model.0.conv.bias"));
  for (int l : kC2fLayers) {
    int n = 0;
    while (int8.has_parameter(fmt::format("model.{}.m.{}.cv1.conv.weight", l, n))) ++n;
    int8.repeats_[l] = n;
  }
  return int8;
}

torch::Tensor YoloV8Int8::conv_act(const torch::Tensor& x, const std::string& prefix,
                                   int64_t stride) {
  if (converted()) {
    const auto y = int8::conv(x, packed(prefix), params(prefix + ".conv"));
    return int8::apply_table(y, silu_.at(prefix), params(prefix + ".act"));
  }
  note_conv(prefix, prefix + ".conv.weight", prefix + ".conv.bias", stride);
  const auto& weight = parameter(prefix + ".conv.weight");
  const auto y =
      torch::conv2d(x, weight, parameter(prefix + ".conv.bias"), stride, weight.size(2) / 2);
  return observed(prefix + ".act", torch::silu(observed(prefix + ".conv", y)));
}

torch::Tensor YoloV8Int8::cat(const std::vector<torch::Tensor>& xs, const std::string& site) {
  if (converted()) return int8::cat(xs, params(site));
  return observed(site, torch::cat(xs, 1));
}

torch::Tensor YoloV8Int8::c2f(const torch::Tensor& x, int index, bool shortcut) {
  const std::string prefix = int8_layer_name(index);
  const std::string cv1 = prefix + ".cv1";
  std::vector<torch::Tensor> parts;
  if (converted()) {
    // cv1's two halves as two convolutions: each output is contiguous, where a channel slice of
    // one output would be copied by every int8 operator that reads it.
    for (const char* half : {"#0", "#1"}) {
      const auto y = int8::conv(x, packed(cv1 + half), params(cv1 + ".conv"));
      parts.push_back(int8::apply_table(y, silu_.at(cv1), params(cv1 + ".act")));
    }
  } else {
    split_convs_.insert(cv1);
    const auto t = conv_act(x, cv1);
    const int64_t hidden = t.size(1) / 2;
    parts = {t.narrow(1, 0, hidden), t.narrow(1, hidden, hidden)};
  }
  for (int k = 0; k < repeats_.at(index); ++k) {
    const std::string block = fmt::format("{}.m.{}", prefix, k);
    const auto y = parts.back();
    auto z = conv_act(conv_act(y, block + ".cv1"), block + ".cv2");
    if (shortcut) {
      const std::string site = block + ".add";
      z = converted() ? int8::add(y, z, params(site)) : observed(site, y + z);
    }
    parts.push_back(z);
  }
  return conv_act(cat(parts, prefix + ".cat"), prefix + ".cv2");
}

torch::Tensor YoloV8Int8::sppf(const torch::Tensor& x) {
  // Max-pooling keeps a quint8 tensor's scale and zero point: no site of its own.
  std::vector<torch::Tensor> pooled = {conv_act(x, "model.9.cv1")};
  for (int i = 0; i < 3; ++i)
    pooled.push_back(torch::max_pool2d(pooled.back(), {5, 5}, {1, 1}, {2, 2}, {1, 1}));
  return conv_act(cat(pooled, "model.9.cat"), "model.9.cv2");
}

torch::Tensor YoloV8Int8::upsample(const torch::Tensor& x) {
  namespace F = torch::nn::functional;
  return F::interpolate(x, F::InterpolateFuncOptions()
                               .scale_factor(std::vector<double>{2.0, 2.0})
                               .mode(torch::kNearest));
}

torch::Tensor YoloV8Int8::final_conv(const torch::Tensor& x, const std::string& prefix) {
  if (converted()) return int8::dequantize(int8::conv(x, packed(prefix), params(prefix + ".out")));
  note_conv(prefix, prefix + ".weight", prefix + ".bias", 1);
  const auto y = torch::conv2d(x, parameter(prefix + ".weight"), parameter(prefix + ".bias"));
  return observed(prefix + ".out", y);
}

torch::Tensor YoloV8Int8::head_level(const torch::Tensor& feature, int level) {
  const auto branch = [&](const char* name) {
    const std::string prefix = fmt::format("model.22.{}.{}", name, level);
    return final_conv(conv_act(conv_act(feature, prefix + ".0"), prefix + ".1"), prefix + ".2");
  };
  return torch::cat({branch("cv2"), branch("cv3")}, 1);
}

torch::Tensor YoloV8Int8::run(const torch::Tensor& x) {
  const auto input = converted() ? int8::quantize(x, params("input")) : observed("input", x);
  const auto p2 =
      c2f(conv_act(conv_act(input, int8_layer_name(0), 2), int8_layer_name(1), 2), 2, true);
  const auto p3 = c2f(conv_act(p2, int8_layer_name(3), 2), 4, true);
  const auto p4 = c2f(conv_act(p3, int8_layer_name(5), 2), 6, true);
  const auto p5 = sppf(c2f(conv_act(p4, int8_layer_name(7), 2), 8, true));
  const auto h12 = c2f(cat({upsample(p5), p4}, int8_layer_name(11)), 12, false);
  const auto out3 = c2f(cat({upsample(h12), p3}, int8_layer_name(14)), 15, false);
  const auto out4 =
      c2f(cat({conv_act(out3, int8_layer_name(16), 2), h12}, int8_layer_name(17)), 18, false);
  const auto out5 =
      c2f(cat({conv_act(out4, int8_layer_name(19), 2), p5}, int8_layer_name(20)), 21, false);
  return model_->decode_levels({head_level(out3, 0), head_level(out4, 1), head_level(out5, 2)});
}

float YoloV8Int8::range_floor(const std::string& site, float min) const {
  return site.ends_with(".conv") ? std::max(min, kPreActivationFloor) : min;
}

void YoloV8Int8::after_convert() {
  for (const auto& [prefix, spec] : convs()) {
    if (spec.weight.ends_with(".conv.weight")) {  // followed by SiLU
      silu_[prefix] = int8::silu_table(params(prefix + ".conv"), params(prefix + ".act"));
    }
    if (split_convs_.count(prefix) == 0) continue;
    const auto& weight = parameter(spec.weight);
    const auto& bias = parameter(spec.bias);
    const int64_t half = weight.size(0) / 2;
    for (int64_t i = 0; i < 2; ++i) {
      packed_convs()[prefix + (i == 0 ? "#0" : "#1")] =
          int8::pack_conv(weight.narrow(0, i * half, half), bias.narrow(0, i * half, half),
                          spec.stride, weight.size(2) / 2);
    }
  }
}

}  // namespace streaminfer
