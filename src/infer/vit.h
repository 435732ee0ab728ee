#pragma once
// ViT-B/16 (Dosovitskiy et al. 2020) built with LibTorch's C++ modules: 16x16 patches, hidden size
// 768, 12 pre-norm encoder layers of 12 heads with an MLP of 3072, a class token and a learned
// position embedding. Parameter names are torchvision's vit_b_16 (class_token, conv_proj.weight,
// encoder.pos_embedding, encoder.layers.encoder_layer_0.self_attention.in_proj_weight,
// encoder.layers.encoder_layer_0.mlp.3.bias, encoder.ln.weight, heads.head.weight, ...), so
// weights move between PyTorch and this model by name. Input [B, 3, S, S] normalized with
// ImageNet's mean and std at exactly the image size it was built for (the position embedding has
// one row per patch); output [B, num_classes] logits.
#include <torch/nn.h>

#include <vector>

namespace streaminfer {

namespace vit {

// torchvision's EncoderBlock: x + attention(ln_1(x)), then + mlp(ln_2(x)).
class EncoderBlockImpl : public torch::nn::Module {
 public:
  EncoderBlockImpl(int hidden, int heads, int mlp);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  int heads_;
  torch::nn::LayerNorm ln_1{nullptr}, ln_2{nullptr};
  // nn.MultiheadAttention's parameters, under its names: in_proj_weight [3E, E] (q, k, v stacked),
  // in_proj_bias [3E], out_proj.
  torch::Tensor in_proj_weight_, in_proj_bias_;
  torch::nn::Linear out_proj_{nullptr};
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};  // mlp.0 and mlp.3 (GELU, dropouts between)
};
TORCH_MODULE(EncoderBlock);

}  // namespace vit

class VisionTransformerImpl : public torch::nn::Module {
 public:
  // vit_b_16 at `image_size` (224 for the published model; a multiple of 16).
  VisionTransformerImpl(int num_classes, int image_size = 224);
  torch::Tensor forward(const torch::Tensor& x);
  int image_size() const { return image_size_; }

 private:
  int image_size_;
  torch::nn::Conv2d conv_proj_{nullptr};
  torch::Tensor class_token_, pos_embedding_;
  std::vector<vit::EncoderBlock> layers_;
  torch::nn::LayerNorm ln_{nullptr};
  torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(VisionTransformer);

}  // namespace streaminfer
