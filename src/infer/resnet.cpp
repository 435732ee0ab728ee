#include "infer/resnet.h"

#include <array>

#include <fmt/format.h>

#include "infer/batch_norm_fold.h"

namespace streaminfer {

namespace resnet {

namespace {

namespace nn = torch::nn;

// Registers conv_name / bn_name in `owner` (torchvision's names) and returns the pair.
ConvBn make_conv_bn(nn::Module& owner, const std::string& conv_name, const std::string& bn_name,
                    int in, int out, int kernel, int stride) {
  ConvBn pair;
  pair.conv_name = conv_name;
  pair.conv = owner.register_module(
      conv_name,
      nn::Conv2d(
          nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false)));
  pair.bn = owner.register_module(bn_name, nn::BatchNorm2d(out));
  return pair;
}

}  // namespace

torch::Tensor ConvBn::forward(const torch::Tensor& x) {
  return fused ? conv->forward(x) : bn->forward(conv->forward(x));
}

int ConvBn::fuse(torch::nn::Module& owner) {
  if (fused) return 0;
  conv = owner.replace_module(conv_name, fold_batch_norm(conv, bn));
  fused = true;
  return 1;
}

BlockImpl::BlockImpl(bool bottleneck, int in, int planes, int stride) {
  const int out = planes * expansion(bottleneck);
  if (bottleneck) {
    path_.push_back(make_conv_bn(*this, "conv1", "bn1", in, planes, 1, 1));
    path_.push_back(make_conv_bn(*this, "conv2", "bn2", planes, planes, 3, stride));
    path_.push_back(make_conv_bn(*this, "conv3", "bn3", planes, out, 1, 1));
  } else {
    path_.push_back(make_conv_bn(*this, "conv1", "bn1", in, planes, 3, stride));
    path_.push_back(make_conv_bn(*this, "conv2", "bn2", planes, out, 3, 1));
  }
  if (stride != 1 || in != out) {
    // torchvision's nn.Sequential(conv1x1, BatchNorm2d): children named "0" and "1".
    downsample_ = register_module("downsample", torch::nn::Sequential());
    shortcut_ = make_conv_bn(*downsample_, "0", "1", in, out, 1, stride);
  }
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = x;
  for (size_t i = 0; i < path_.size(); ++i) {
    y = path_[i].forward(y);
    if (i + 1 < path_.size()) y = torch::relu(y);
  }
  return torch::relu(y + (shortcut_ ? shortcut_->forward(x) : x));
}

int BlockImpl::fuse_batch_norm() {
  int fused = 0;
  for (auto& pair : path_) fused += pair.fuse(*this);
  if (shortcut_) fused += shortcut_->fuse(*downsample_);
  return fused;
}

}  // namespace resnet

ResNetImpl::ResNetImpl(int depth, int num_classes) {
  const bool bottleneck = depth == 50;
  const std::array<int, 4> repeats =
      bottleneck ? std::array<int, 4>{3, 4, 6, 3} : std::array<int, 4>{2, 2, 2, 2};
  stem_ = resnet::make_conv_bn(*this, "conv1", "bn1", 3, 64, 7, 2);
  int in = 64;
  for (int stage = 0; stage < 4; ++stage) {
    const int planes = 64 << stage;
    auto layer = register_module(fmt::format("layer{}", stage + 1), torch::nn::Sequential());
    for (int i = 0; i < repeats[static_cast<size_t>(stage)]; ++i) {
      const int stride = (stage > 0 && i == 0) ? 2 : 1;
      blocks_.emplace_back(bottleneck, in, planes, stride);
      layer->push_back(std::to_string(i), blocks_.back());
      in = planes * resnet::BlockImpl::expansion(bottleneck);
    }
  }
  fc_ = register_module("fc", torch::nn::Linear(in, num_classes));
}

torch::Tensor ResNetImpl::forward(const torch::Tensor& x) {
  namespace F = torch::nn::functional;
  torch::Tensor y = torch::relu(stem_.forward(x));
  y = F::max_pool2d(y, F::MaxPool2dFuncOptions(3).stride(2).padding(1));
  for (auto& block : blocks_) y = block->forward(y);
  // Global average pooling: the classifier takes any input size.
  return fc_->forward(y.mean({2, 3}));
}

Result<int> ResNetImpl::fuse_batch_norm() {
  if (is_training()) {
    return Status::error("fusing BatchNorm needs the model in eval mode (it folds running stats)");
  }
  int fused = stem_.fuse(*this);
  for (auto& block : blocks_) fused += block->fuse_batch_norm();
  return fused;
}

}  // namespace streaminfer
