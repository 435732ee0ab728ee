#pragma once
// Building blocks of Ultralytics YOLOv8, written with LibTorch's C++ modules. Submodule names
// follow Ultralytics (conv/bn, cv1/cv2/m, dfl) so that state_dict names match theirs and weights
// move between PyTorch and the C++ model by name.
#include <torch/nn.h>

namespace streaminfer::yolo {

// Conv2d (no bias) + BatchNorm2d + SiLU, padding k/2.
class ConvBnActImpl : public torch::nn::Module {
 public:
  ConvBnActImpl(int in, int out, int kernel = 1, int stride = 1);
  torch::Tensor forward(const torch::Tensor& x);
  // Inference only: folds BatchNorm's running statistics and affine parameters into the
  // convolution (which gains a bias) and skips BatchNorm from then on. The module must be in eval
  // mode; training it afterwards would train the folded weights with no normalization.
  void fuse_batch_norm();
  bool fused() const { return fused_; }

 private:
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
  bool fused_ = false;
};
TORCH_MODULE(ConvBnAct);

class BottleneckImpl : public torch::nn::Module {
 public:
  BottleneckImpl(int in, int out, bool shortcut);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  ConvBnAct cv1{nullptr}, cv2{nullptr};
  bool add_;
};
TORCH_MODULE(Bottleneck);

// CSP bottleneck with two convolutions: split, n bottlenecks on the second half, concat all.
class C2fImpl : public torch::nn::Module {
 public:
  C2fImpl(int in, int out, int repeats, bool shortcut);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  int hidden_;
  ConvBnAct cv1{nullptr}, cv2{nullptr};
  torch::nn::ModuleList m{nullptr};
  std::vector<Bottleneck> blocks_;
};
TORCH_MODULE(C2f);

// Spatial pyramid pooling, fast: three chained 5x5 max-pools.
class SppfImpl : public torch::nn::Module {
 public:
  SppfImpl(int in, int out);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  ConvBnAct cv1{nullptr}, cv2{nullptr};
  torch::nn::MaxPool2d m{nullptr};
};
TORCH_MODULE(Sppf);

// Parameter-free placeholder that keeps layer indices (and so parameter names) aligned with
// Ultralytics for layers such as Concat.
class PassThroughImpl : public torch::nn::Module {
 public:
  torch::Tensor forward(const torch::Tensor& x) { return x; }
};
TORCH_MODULE(PassThrough);

// Decoupled detection head with distribution focal loss box regression (reg_max 16). In
// inference it returns [B, 4 + nc, A]: boxes as centre x, centre y, width, height in input
// pixels, then class probabilities; the Ultralytics export format.
// The head's outputs before decoding, which training needs: per anchor 4 x kRegMax distance-bin
// logits (left, top, right, bottom), then nc class logits.
struct DetectRaw {
  torch::Tensor outputs;  // [B, 4 * kRegMax + nc, A], float32
  torch::Tensor anchors;  // [2, A] anchor centres, in cells of their level
  torch::Tensor strides;  // [1, A] pixels per cell
};

class DetectImpl : public torch::nn::Module {
 public:
  static constexpr int kRegMax = 16;

  DetectImpl(int num_classes, const std::vector<int>& channels);
  torch::Tensor forward(const std::vector<torch::Tensor>& features);
  DetectRaw forward_raw(const std::vector<torch::Tensor>& features);
  // The head's per-level outputs [B, 4 * kRegMax + nc, H, W] (strides 8, 16, 32) as one
  // DetectRaw, with the anchors of those sizes: for a head computed elsewhere (the int8 model).
  DetectRaw raw_from_levels(const std::vector<torch::Tensor>& levels);
  // forward() is forward_raw() then this: boxes from the distance bins, class scores sigmoid.
  // Retrain mode decodes its training forward's outputs with it instead of a second forward.
  torch::Tensor decode(const DetectRaw& raw);
  void initialize_biases();  // Ultralytics' prior: box 1.0, class log(5 / nc / (640 / s)^2)

 private:
  static constexpr int kStrides[3] = {8, 16, 32};
  torch::Tensor anchors_and_strides(const std::vector<torch::Tensor>& features);

  int num_classes_;
  torch::nn::ModuleList cv2{nullptr}, cv3{nullptr};
  std::vector<torch::nn::Sequential> box_branches_, class_branches_;
  torch::nn::Conv2d dfl_conv_{nullptr};
  // Cache of anchor centres [2, A] and strides [1, A] for the last input size.
  std::vector<int64_t> cached_shape_;
  torch::Tensor anchors_, strides_;
};
TORCH_MODULE(Detect);

}  // namespace streaminfer::yolo
