#pragma once
// ResNet-18 and ResNet-50 (He et al. 2015, torchvision's "v1.5": a bottleneck's stride is on its
// 3x3 convolution) built with LibTorch's C++ modules. Parameter and buffer names are
// torchvision's (conv1.weight, bn1.running_mean, layer1.0.conv1.weight,
// layer2.0.downsample.0.weight, fc.bias, ...), so weights move between PyTorch and this model by
// name. Input [B, 3, H, W] normalized with ImageNet's mean and std, any size from 32; output
// [B, num_classes] logits.
#include <torch/nn.h>

#include <optional>
#include <string>
#include <vector>

#include "streaminfer/status.h"

namespace streaminfer {

namespace resnet {

// A Conv2d (no bias) and the BatchNorm2d after it. They stay sibling modules, registered by the
// module that owns them, so that their names stay torchvision's (conv1 / bn1).
struct ConvBn {
  std::string conv_name;
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
  bool fused = false;
  torch::Tensor forward(const torch::Tensor& x);
  // Folds bn into conv (registered in `owner` as conv_name), which gains a bias. Returns 1 when
  // it folded, 0 when already folded.
  int fuse(torch::nn::Module& owner);
};

// A residual block: BasicBlock (two 3x3) or Bottleneck (1x1, 3x3, 1x1 with 4x expansion), with a
// 1x1 projection shortcut ("downsample") where the shape changes.
class BlockImpl : public torch::nn::Module {
 public:
  BlockImpl(bool bottleneck, int in, int planes, int stride);
  torch::Tensor forward(const torch::Tensor& x);
  int fuse_batch_norm();  // returns the number folded
  static int expansion(bool bottleneck) { return bottleneck ? 4 : 1; }
  // For other executors of the same network (resnet_onednn.h): conv1/bn1, conv2/bn2[, conv3/bn3]
  // in order (ReLU after each but the last, which the shortcut is added to before its ReLU), and
  // the projection shortcut if any.
  const std::vector<ConvBn>& path() const { return path_; }
  const std::optional<ConvBn>& shortcut() const { return shortcut_; }

 private:
  std::vector<ConvBn> path_;        // conv1/bn1, conv2/bn2[, conv3/bn3]
  std::optional<ConvBn> shortcut_;  // downsample.0 / downsample.1
  torch::nn::Sequential downsample_{nullptr};
};
TORCH_MODULE(Block);

}  // namespace resnet

class ResNetImpl : public torch::nn::Module {
 public:
  // depth: 18 (BasicBlock [2, 2, 2, 2]) or 50 (Bottleneck [3, 4, 6, 3]).
  ResNetImpl(int depth, int num_classes);
  torch::Tensor forward(const torch::Tensor& x);
  // Inference only (eval mode): folds every BatchNorm into the convolution before it, which gains
  // a bias under its own name (conv1.bias); the BatchNorm is skipped from then on. Returns the
  // number folded.
  Result<int> fuse_batch_norm();
  // For other executors of the same network (resnet_onednn.h): conv1/bn1 (ReLU, then a 3x3
  // max-pool with stride 2), the blocks in order, and the classifier after global average pooling.
  const resnet::ConvBn& stem() const { return stem_; }
  const std::vector<resnet::Block>& blocks() const { return blocks_; }
  torch::nn::Linear fc() const { return fc_; }

 private:
  resnet::ConvBn stem_;
  std::vector<resnet::Block> blocks_;  // layer1.0 .. layer4.N in order
  torch::nn::Linear fc_{nullptr};
};
TORCH_MODULE(ResNet);

}  // namespace streaminfer
