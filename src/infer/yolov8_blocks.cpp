#include "infer/yolov8_blocks.h"

#include <cmath>

namespace streaminfer::yolo {

namespace nn = torch::nn;

ConvBnActImpl::ConvBnActImpl(int in, int out, int kernel, int stride) {
  conv = register_module(
      "conv",
      nn::Conv2d(
          nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false)));
  bn = register_module("bn", nn::BatchNorm2d(nn::BatchNorm2dOptions(out).eps(1e-3).momentum(0.03)));
}

torch::Tensor ConvBnActImpl::forward(const torch::Tensor& x) {
  if (fused_) return torch::silu(conv->forward(x));
  return torch::silu(bn->forward(conv->forward(x)));
}

void ConvBnActImpl::fuse_batch_norm() {
  if (fused_) return;
  torch::NoGradGuard no_grad;
  // y = gamma * (conv(x) - mean) / sqrt(var + eps) + beta = conv'(x) + b', per output channel.
  // Computed in double so that folding adds no rounding of its own beyond the final float cast.
  const auto to_double = [](const torch::Tensor& t) { return t.to(torch::kFloat64); };
  auto scale = to_double(bn->weight) / (to_double(bn->running_var) + bn->options.eps()).sqrt();
  auto weight = to_double(conv->weight) * scale.view({-1, 1, 1, 1});
  auto bias = to_double(bn->bias) - to_double(bn->running_mean) * scale;
  const auto& o = conv->options;
  auto fused_conv = nn::Conv2d(nn::Conv2dOptions(o.in_channels(), o.out_channels(), o.kernel_size())
                                   .stride(o.stride())
                                   .padding(o.padding())
                                   .dilation(o.dilation())
                                   .groups(o.groups())
                                   .bias(true));
  fused_conv->weight.copy_(weight);
  fused_conv->bias.copy_(bias);
  fused_conv->to(conv->weight.scalar_type());
  fused_conv->eval();
  // Ultralytics' fuse_conv_and_bn does the same and keeps the name "conv", so weights saved from
  // a fused model still load by name (with conv.bias added).
  conv = replace_module("conv", fused_conv);
  fused_ = true;
}

BottleneckImpl::BottleneckImpl(int in, int out, bool shortcut) : add_(shortcut && in == out) {
  cv1 = register_module("cv1", ConvBnAct(in, out, 3, 1));
  cv2 = register_module("cv2", ConvBnAct(out, out, 3, 1));
}

torch::Tensor BottleneckImpl::forward(const torch::Tensor& x) {
  auto y = cv2->forward(cv1->forward(x));
  return add_ ? x + y : y;
}

C2fImpl::C2fImpl(int in, int out, int repeats, bool shortcut) : hidden_(out / 2) {
  cv1 = register_module("cv1", ConvBnAct(in, 2 * hidden_, 1, 1));
  cv2 = register_module("cv2", ConvBnAct((2 + repeats) * hidden_, out, 1, 1));
  m = register_module("m", nn::ModuleList());
  for (int i = 0; i < repeats; ++i) {
    blocks_.emplace_back(hidden_, hidden_, shortcut);
    m->push_back(blocks_.back());
  }
}

torch::Tensor C2fImpl::forward(const torch::Tensor& x) {
  auto halves = cv1->forward(x).chunk(2, 1);
  std::vector<torch::Tensor> parts(halves.begin(), halves.end());
  for (auto& block : blocks_) parts.push_back(block->forward(parts.back()));
  return cv2->forward(torch::cat(parts, 1));
}

SppfImpl::SppfImpl(int in, int out) {
  const int hidden = in / 2;
  cv1 = register_module("cv1", ConvBnAct(in, hidden, 1, 1));
  cv2 = register_module("cv2", ConvBnAct(hidden * 4, out, 1, 1));
  m = register_module("m", nn::MaxPool2d(nn::MaxPool2dOptions(5).stride(1).padding(2)));
}

torch::Tensor SppfImpl::forward(const torch::Tensor& x) {
  auto y0 = cv1->forward(x);
  auto y1 = m->forward(y0);
  auto y2 = m->forward(y1);
  auto y3 = m->forward(y2);
  return cv2->forward(torch::cat({y0, y1, y2, y3}, 1));
}

DetectImpl::DetectImpl(int num_classes, const std::vector<int>& channels)
    : num_classes_(num_classes) {
  const int box_hidden = std::max({16, channels[0] / 4, kRegMax * 4});
  const int class_hidden = std::max(channels[0], std::min(num_classes, 100));
  cv2 = register_module("cv2", nn::ModuleList());
  cv3 = register_module("cv3", nn::ModuleList());
  for (int c : channels) {
    box_branches_.emplace_back(ConvBnAct(c, box_hidden, 3), ConvBnAct(box_hidden, box_hidden, 3),
                               nn::Conv2d(nn::Conv2dOptions(box_hidden, 4 * kRegMax, 1)));
    class_branches_.emplace_back(ConvBnAct(c, class_hidden, 3),
                                 ConvBnAct(class_hidden, class_hidden, 3),
                                 nn::Conv2d(nn::Conv2dOptions(class_hidden, num_classes, 1)));
    cv2->push_back(box_branches_.back());
    cv3->push_back(class_branches_.back());
  }
  // DFL: expectation over the 16 distance bins as a fixed 1x1 convolution with weights 0..15.
  auto dfl = register_module("dfl", std::make_shared<nn::Module>());
  dfl_conv_ =
      dfl->register_module("conv", nn::Conv2d(nn::Conv2dOptions(kRegMax, 1, 1).bias(false)));
  {
    torch::NoGradGuard no_grad;
    dfl_conv_->weight.copy_(torch::arange(kRegMax, torch::kFloat32).view({1, kRegMax, 1, 1}));
  }
  dfl_conv_->weight.set_requires_grad(false);
  initialize_biases();
}

void DetectImpl::initialize_biases() {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < box_branches_.size(); ++i) {
    auto box_conv = box_branches_[i]->ptr(2)->as<nn::Conv2d>();
    auto class_conv = class_branches_[i]->ptr(2)->as<nn::Conv2d>();
    box_conv->bias.fill_(1.0);
    const double cells = std::pow(640.0 / kStrides[i], 2);
    class_conv->bias.fill_(std::log(5.0 / num_classes_ / cells));
  }
}

torch::Tensor DetectImpl::anchors_and_strides(const std::vector<torch::Tensor>& features) {
  std::vector<int64_t> shape;
  for (const auto& f : features) {
    shape.push_back(f.size(2));
    shape.push_back(f.size(3));
  }
  if (shape == cached_shape_ && anchors_.defined()) return anchors_;
  std::vector<torch::Tensor> points, strides;
  // Anchors stay float32 like the decode that uses them (see forward()).
  const auto options = torch::TensorOptions().dtype(torch::kFloat32).device(features[0].device());
  for (size_t i = 0; i < features.size(); ++i) {
    const int64_t h = features[i].size(2), w = features[i].size(3);
    auto sx = torch::arange(w, options) + 0.5;
    auto sy = torch::arange(h, options) + 0.5;
    auto grid = torch::meshgrid({sy, sx}, "ij");
    points.push_back(torch::stack({grid[1], grid[0]}, -1).view({-1, 2}));
    strides.push_back(torch::full({h * w, 1}, static_cast<double>(kStrides[i]), options));
  }
  anchors_ = torch::cat(points).transpose(0, 1).contiguous();   // [2, A]
  strides_ = torch::cat(strides).transpose(0, 1).contiguous();  // [1, A]
  cached_shape_ = shape;
  return anchors_;
}

DetectRaw DetectImpl::forward_raw(const std::vector<torch::Tensor>& features) {
  std::vector<torch::Tensor> levels;
  for (size_t i = 0; i < features.size(); ++i) {
    levels.push_back(torch::cat(
        {box_branches_[i]->forward(features[i]), class_branches_[i]->forward(features[i])}, 1));
  }
  return raw_from_levels(levels);
}

DetectRaw DetectImpl::raw_from_levels(const std::vector<torch::Tensor>& levels) {
  const int64_t batch = levels[0].size(0);
  const int64_t outputs_per_anchor = num_classes_ + 4 * kRegMax;
  std::vector<torch::Tensor> flat;
  for (const auto& level : levels) flat.push_back(level.reshape({batch, outputs_per_anchor, -1}));
  auto anchors = anchors_and_strides(levels);
  // The box decode runs in float32 whatever the network's precision: in bfloat16 (8 significant
  // bits) a coordinate near 640 would only be exact to 4 pixels. reshape, not view: channels-last
  // features give other strides.
  return {torch::cat(flat, 2).to(torch::kFloat32), anchors, strides_};
}

torch::Tensor DetectImpl::forward(const std::vector<torch::Tensor>& features) {
  return decode(forward_raw(features));
}

torch::Tensor DetectImpl::decode(const DetectRaw& raw) {
  const auto& all = raw.outputs;
  const auto& anchors = raw.anchors;
  const int64_t batch = all.size(0);
  auto box_logits = all.slice(1, 0, 4 * kRegMax);
  auto class_logits = all.slice(1, 4 * kRegMax);
  const int64_t num_anchors = all.size(2);

  // [B, 64, A] -> [B, 4, 16, A] -> softmax over bins -> expected distance per side [B, 4, A].
  auto bins = box_logits.reshape({batch, 4, kRegMax, num_anchors}).transpose(2, 1).softmax(1);
  auto dfl_weight = dfl_conv_->weight.to(torch::kFloat32).contiguous();
  auto distances = torch::conv2d(bins, dfl_weight).reshape({batch, 4, num_anchors});
  auto left_top = distances.slice(1, 0, 2);
  auto right_bottom = distances.slice(1, 2, 4);
  auto top_left_corner = anchors - left_top;
  auto bottom_right_corner = anchors + right_bottom;
  auto centre = (top_left_corner + bottom_right_corner) / 2;
  auto size = bottom_right_corner - top_left_corner;
  auto boxes = torch::cat({centre, size}, 1) * raw.strides;
  return torch::cat({boxes, class_logits.sigmoid()}, 1);
}

}  // namespace streaminfer::yolo
