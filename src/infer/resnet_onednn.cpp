#include "infer/resnet_onednn.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <optional>
#include <vector>

#include "infer/model_zoo.h"
#include "infer/onednn_plan_cache.h"

namespace streaminfer {

struct ResNetOneDnn::Impl {
  // A folded convolution's weight and bias, detached (the plans copy them when built).
  struct FoldedConv {
    torch::Tensor weight, bias;
    int64_t stride = 1;
  };
  struct PlannedBlock {
    std::vector<FoldedConv> path;
    std::optional<FoldedConv> shortcut;
  };

  static Result<FoldedConv> folded_conv(const resnet::ConvBn& pair, const std::string& where) {
    const auto& conv = pair.conv;
    if (!pair.fused || !conv->bias.defined()) {
      return Status::error(fmt::format(
          "oneDNN: fold BatchNorm into the convolutions first (fuse_batch_norm; {} is not)",
          where));
    }
    if (conv->weight.scalar_type() != torch::kFloat32) {
      return Status::error("oneDNN: the model must be float32");
    }
    const auto& options = conv->options;
    const int64_t kernel = conv->weight.size(2);
    const auto* padding = c10::get_if<torch::ExpandingArray<2>>(&options.padding());
    const auto stride = *options.stride();
    if (conv->weight.size(3) != kernel || padding == nullptr || (**padding)[0] != kernel / 2 ||
        (**padding)[1] != kernel / 2 || stride[0] != stride[1]) {
      return Status::error(
          fmt::format("oneDNN: {} is not a square convolution padded by half its kernel", where));
    }
    return FoldedConv{conv->weight.detach(), conv->bias.detach(), stride[0]};
  }

  Impl(ResNet m, OneDnnLayout layout, bool normalized, Winograd winograd)
      : model(std::move(m)),
        imagenet_normalized(normalized),
        cache(
            layout,
            [this](onednn::Plan& plan, int64_t batch, int64_t height, int64_t width) {
              build(plan, batch, height, width);
            },
            winograd) {}

  void build(onednn::Plan& p, int64_t batch, int64_t height, int64_t width) {
    onednn::Value x = p.input(batch, 3, height, width);
    x = p.conv_relu(x, stem.weight, stem.bias, stem.stride, /*relu=*/true);
    x = p.max_pool(x, 3, 2);
    for (const PlannedBlock& block : blocks) {
      const onednn::Value in = x;
      const onednn::Value shortcut =
          block.shortcut ? p.conv_relu(in, block.shortcut->weight, block.shortcut->bias,
                                       block.shortcut->stride, /*relu=*/false)
                         : in;
      for (size_t i = 0; i < block.path.size(); ++i) {
        const FoldedConv& c = block.path[i];
        const bool last = i + 1 == block.path.size();
        // The residual add and its ReLU fused into the block's last convolution.
        x = p.conv_relu(x, c.weight, c.bias, c.stride, /*relu=*/true, last ? &shortcut : nullptr);
      }
    }
    p.output(x);
  }

  ResNet model;
  bool imagenet_normalized;
  FoldedConv stem;
  std::vector<PlannedBlock> blocks;
  onednn::PlanCache cache;
};

ResNetOneDnn::ResNetOneDnn(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ResNetOneDnn::~ResNetOneDnn() = default;

Result<std::unique_ptr<ResNetOneDnn>> ResNetOneDnn::create(ResNet model, OneDnnLayout layout,
                                                           bool imagenet_normalized,
                                                           Winograd winograd) {
  if (!model) return Status::error("oneDNN: no model");
  if (model->is_training()) return Status::error("oneDNN: the model must be in eval mode");
  std::unique_ptr<Impl> impl;
  try {
    impl = std::make_unique<Impl>(model, layout, imagenet_normalized, winograd);
  } catch (const dnnl::error& e) {
    return Status::error(fmt::format("oneDNN: no CPU engine ({})", e.what()));
  }
  auto stem = Impl::folded_conv(model->stem(), "conv1");
  if (!stem) return stem.status();
  impl->stem = stem.value();
  for (size_t b = 0; b < model->blocks().size(); ++b) {
    const auto& block = model->blocks()[b];
    Impl::PlannedBlock planned;
    for (size_t i = 0; i < block->path().size(); ++i) {
      auto c = Impl::folded_conv(block->path()[i], fmt::format("block {} conv{}", b, i + 1));
      if (!c) return c.status();
      planned.path.push_back(c.value());
    }
    if (block->shortcut()) {
      auto c = Impl::folded_conv(*block->shortcut(), fmt::format("block {} downsample", b));
      if (!c) return c.status();
      planned.shortcut = c.value();
    }
    impl->blocks.push_back(std::move(planned));
  }
  return std::unique_ptr<ResNetOneDnn>(new ResNetOneDnn(std::move(impl)));
}

torch::Tensor ResNetOneDnn::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == 3, "oneDNN: input must be [B, 3, H, W]");
  torch::Tensor input = x.to(torch::kFloat32);
  if (impl_->imagenet_normalized) input = imagenet_normalize(input);
  const std::vector<torch::Tensor> outputs = impl_->cache.run(input.contiguous());
  // Global average pooling and the classifier, as ResNetImpl::forward ends.
  return impl_->model->fc()->forward(outputs[0].mean({2, 3}));
}

void ResNetOneDnn::keep_batches(int64_t max_batch, int64_t height, int64_t width) {
  impl_->cache.keep_batches(max_batch, height, width);
}

std::string ResNetOneDnn::describe() const { return impl_->cache.describe(); }

}  // namespace streaminfer
