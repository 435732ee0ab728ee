#include "infer/vit.h"

#include <cmath>

namespace streaminfer {

namespace {

namespace nn = torch::nn;

constexpr int kPatch = 16, kHidden = 768, kLayers = 12, kHeads = 12, kMlp = 3072;
// torchvision's ViT uses LayerNorm(eps=1e-6) throughout.
constexpr double kLayerNormEps = 1e-6;

nn::LayerNorm layer_norm(int size) {
  return nn::LayerNorm(nn::LayerNormOptions({size}).eps(kLayerNormEps));
}

// A plain container that only gives its children a name (torchvision's nn.Sequential or
// nn.Module levels without parameters of their own: self_attention, mlp, heads, encoder.layers).
struct NamespaceImpl : nn::Module {};
TORCH_MODULE(Namespace);

}  // namespace

namespace vit {

EncoderBlockImpl::EncoderBlockImpl(int hidden, int heads, int mlp) : heads_(heads) {
  ln_1 = register_module("ln_1", layer_norm(hidden));
  auto attention = register_module("self_attention", Namespace());
  // nn.MultiheadAttention's initialization: Xavier-uniform projections, zero biases.
  in_proj_weight_ = attention->register_parameter(
      "in_proj_weight", nn::init::xavier_uniform_(torch::empty({3 * hidden, hidden})));
  in_proj_bias_ = attention->register_parameter("in_proj_bias", torch::zeros({3 * hidden}));
  out_proj_ = attention->register_module("out_proj", nn::Linear(hidden, hidden));
  ln_2 = register_module("ln_2", layer_norm(hidden));
  auto mlp_block = register_module("mlp", Namespace());
  fc1_ = mlp_block->register_module("0", nn::Linear(hidden, mlp));
  fc2_ = mlp_block->register_module("3", nn::Linear(mlp, hidden));
}

torch::Tensor EncoderBlockImpl::forward(const torch::Tensor& x) {
  const int64_t batch = x.size(0), tokens = x.size(1), hidden = x.size(2);
  const int64_t head_dim = hidden / heads_;
  // [B, T, 3E] -> [3, B, heads, T, head_dim]
  auto qkv = torch::nn::functional::linear(ln_1(x), in_proj_weight_, in_proj_bias_)
                 .view({batch, tokens, 3, heads_, head_dim})
                 .permute({2, 0, 3, 1, 4});
  auto q = qkv[0] * (1.0 / std::sqrt(static_cast<double>(head_dim)));
  auto attention = torch::softmax(torch::matmul(q, qkv[1].transpose(-2, -1)), -1);
  auto context = torch::matmul(attention, qkv[2]).transpose(1, 2).reshape({batch, tokens, hidden});
  auto y = x + out_proj_(context);
  return y + fc2_(torch::gelu(fc1_(ln_2(y))));
}

}  // namespace vit

VisionTransformerImpl::VisionTransformerImpl(int num_classes, int image_size)
    : image_size_(image_size) {
  const int patches = (image_size / kPatch) * (image_size / kPatch);
  conv_proj_ = register_module("conv_proj",
                               nn::Conv2d(nn::Conv2dOptions(3, kHidden, kPatch).stride(kPatch)));
  class_token_ = register_parameter("class_token", torch::zeros({1, 1, kHidden}));
  auto encoder = register_module("encoder", Namespace());
  pos_embedding_ = encoder->register_parameter(
      "pos_embedding", torch::randn({1, patches + 1, kHidden}) * 0.02);  // torchvision's std
  auto layers = encoder->register_module("layers", Namespace());
  for (int i = 0; i < kLayers; ++i) {
    layers_.push_back(layers->register_module("encoder_layer_" + std::to_string(i),
                                              vit::EncoderBlock(kHidden, kHeads, kMlp)));
  }
  ln_ = encoder->register_module("ln", layer_norm(kHidden));
  auto heads = register_module("heads", Namespace());
  head_ = heads->register_module("head", nn::Linear(kHidden, num_classes));
}

torch::Tensor VisionTransformerImpl::forward(const torch::Tensor& x) {
  const int64_t batch = x.size(0);
  // [B, E, S/16, S/16] -> [B, patches, E], the class token first.
  auto tokens = conv_proj_(x).flatten(2).transpose(1, 2);
  tokens = torch::cat({class_token_.expand({batch, -1, -1}), tokens}, 1) + pos_embedding_;
  for (auto& layer : layers_) tokens = layer->forward(tokens);
  // Only the class token is classified (LayerNorm works per token: no need to normalize the rest).
  return head_(ln_(tokens.select(1, 0)));
}

}  // namespace streaminfer
