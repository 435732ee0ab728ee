#include "infer/resnet_int8.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "infer/model_zoo.h"

namespace streaminfer {

Result<ResNetInt8> ResNetInt8::create(ResNet model) {
  if (!model) return Status::error("int8: no model");
  ResNetInt8 int8;
  SI_RETURN_IF_ERROR(int8.take_parameters(*model, "conv1.bias"));
  int8.bottleneck_ = int8.has_parameter("layer1.0.conv3.weight");
  for (int stage = 1; stage <= 4; ++stage) {
    int n = 0;
    while (int8.has_parameter(fmt::format("layer{}.{}.conv1.weight", stage, n))) ++n;
    int8.blocks_per_stage_.push_back(n);
  }
  return int8;
}

// A folded convolution (its bias holds BatchNorm), optionally followed by ReLU: one operator in
// int8, whose output range is measured after the ReLU.
torch::Tensor ResNetInt8::conv(const torch::Tensor& x, const std::string& name, int64_t stride,
                               bool relu) {
  if (converted()) return int8::conv(x, packed(name), params(name), relu);
  note_conv(name, name + ".weight", name + ".bias", stride);
  const auto& weight = parameter(name + ".weight");
  auto y = torch::conv2d(x, weight, parameter(name + ".bias"), stride, weight.size(2) / 2);
  return observed(name, relu ? torch::relu(y) : y);
}

// torchvision's v1.5 blocks: the stride on the first 3x3 (BasicBlock: conv1; Bottleneck: conv2),
// a strided 1x1 projection where the shape changes.
torch::Tensor ResNetInt8::block(const torch::Tensor& x, int stage, int index) {
  const std::string prefix = fmt::format("layer{}.{}", stage, index);
  const int64_t stride = stage > 1 && index == 0 ? 2 : 1;
  torch::Tensor y;
  if (bottleneck_) {
    y = conv(x, prefix + ".conv1", 1, true);
    y = conv(y, prefix + ".conv2", stride, true);
    y = conv(y, prefix + ".conv3", 1, false);
  } else {
    y = conv(x, prefix + ".conv1", stride, true);
    y = conv(y, prefix + ".conv2", 1, false);
  }
  const bool projected = has_parameter(prefix + ".downsample.0.weight");
  const auto shortcut = projected ? conv(x, prefix + ".downsample.0", stride, false) : x;
  const std::string site = prefix + ".add";
  if (converted()) return int8::add(y, shortcut, params(site), /*relu=*/true);
  return observed(site, torch::relu(y + shortcut));
}

torch::Tensor ResNetInt8::run(const torch::Tensor& x) {
  const auto normalized = imagenet_normalize(x);
  auto y =
      converted() ? int8::quantize(normalized, params("input")) : observed("input", normalized);
  y = conv(y, "conv1", 2, true);
  y = torch::max_pool2d(y, {3, 3}, {2, 2}, {1, 1}, {1, 1});
  for (int stage = 1; stage <= 4; ++stage) {
    for (int i = 0; i < blocks_per_stage_[static_cast<size_t>(stage - 1)]; ++i) {
      y = block(y, stage, i);
    }
  }
  const auto features = (converted() ? int8::dequantize(y) : y).mean({2, 3});
  return torch::linear(features, parameter("fc.weight"), parameter("fc.bias"));
}

}  // namespace streaminfer
