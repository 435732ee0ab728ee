#include "infer/yolov8_onednn.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <iterator>
#include <map>
#include <mutex>
#include <stdexcept>
#include <tuple>

#include "infer/onednn_plan_cache.h"

namespace streaminfer {

namespace {

constexpr int kOneDnnC2fLayers[] = {2, 4, 6, 8, 12, 15, 18, 21};

std::string onednn_layer_name(int index) { return fmt::format("model.{}", index); }

}  // namespace

struct YoloV8OneDnn::Impl {
  Impl(YoloV8 m, OneDnnLayout layout)
      : model(std::move(m)),
        cache(layout, [this](onednn::Plan& plan, int64_t batch, int64_t height, int64_t width) {
          build(plan, batch, height, width);
        }) {}

  void build(onednn::Plan& plan, int64_t batch, int64_t height, int64_t width);
  const torch::Tensor& parameter(const std::string& name) const;
  onednn::Value conv_act(onednn::Plan& plan, onednn::Value x, const std::string& prefix,
                         int64_t stride = 1);
  onednn::Value c2f(onednn::Plan& plan, onednn::Value x, int layer, bool shortcut);
  onednn::Value sppf(onednn::Plan& plan, onednn::Value x);
  void head_level(onednn::Plan& plan, onednn::Value feature, int level);

  YoloV8 model;
  std::map<std::string, torch::Tensor> parameters;
  std::map<int, int> repeats;  // C2f layer -> bottlenecks
  onednn::PlanCache cache;
};

YoloV8OneDnn::YoloV8OneDnn(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
YoloV8OneDnn::~YoloV8OneDnn() = default;

Result<std::unique_ptr<YoloV8OneDnn>> YoloV8OneDnn::create(YoloV8 model, OneDnnLayout layout) {
  if (!model) return Status::error("oneDNN: no model");
  if (model->is_training()) return Status::error("oneDNN: the model must be in eval mode");
  std::unique_ptr<Impl> impl;
  try {
    impl = std::make_unique<Impl>(model, layout);
  } catch (const dnnl::error& e) {
    return Status::error(fmt::format("oneDNN: no CPU engine ({})", e.what()));
  }
  for (const auto& item : model->named_parameters(/*recurse=*/true)) {
    impl->parameters[item.key()] = item.value().detach();
  }
  const auto first_bias = impl->parameters.find("model.0.conv.bias");
  if (first_bias == impl->parameters.end()) {
    return Status::error("oneDNN: fold BatchNorm into the convolutions first (fuse_batch_norm)");
  }
  if (first_bias->second.scalar_type() != torch::kFloat32) {
    return Status::error("oneDNN: the model must be float32");
  }
  for (int l : kOneDnnC2fLayers) {
    int n = 0;
    while (impl->parameters.count(fmt::format("model.{}.m.{}.cv1.conv.weight", l, n)) > 0) ++n;
    impl->repeats[l] = n;
  }
  return std::unique_ptr<YoloV8OneDnn>(new YoloV8OneDnn(std::move(impl)));
}

const torch::Tensor& YoloV8OneDnn::Impl::parameter(const std::string& name) const {
  const auto found = parameters.find(name);
  TORCH_CHECK(found != parameters.end(), "oneDNN: the model has no parameter ", name);
  return found->second;
}

onednn::Value YoloV8OneDnn::Impl::conv_act(onednn::Plan& plan, onednn::Value x,
                                           const std::string& prefix, int64_t stride) {
  return plan.conv(x, parameter(prefix + ".conv.weight"), parameter(prefix + ".conv.bias"), stride,
                   /*silu=*/true);
}

onednn::Value YoloV8OneDnn::Impl::c2f(onednn::Plan& plan, onednn::Value x, int layer,
                                      bool shortcut) {
  const std::string prefix = onednn_layer_name(layer);
  // cv1's two halves as two convolutions: each half is a whole tensor that the bottlenecks and
  // the concatenation read, where a channel slice of one output would need a copy.
  const auto& weight = parameter(prefix + ".cv1.conv.weight");
  const auto& bias = parameter(prefix + ".cv1.conv.bias");
  const int64_t half = weight.size(0) / 2;
  std::vector<onednn::Value> parts;
  for (int64_t i = 0; i < 2; ++i) {
    parts.push_back(plan.conv(x, weight.narrow(0, i * half, half), bias.narrow(0, i * half, half),
                              1, /*silu=*/true));
  }
  for (int k = 0; k < repeats.at(layer); ++k) {
    const std::string block = fmt::format("{}.m.{}", prefix, k);
    const onednn::Value y = parts.back();
    const onednn::Value hidden = conv_act(plan, y, block + ".cv1");
    // The residual add fused into the second convolution, after its SiLU.
    parts.push_back(plan.conv(hidden, parameter(block + ".cv2.conv.weight"),
                              parameter(block + ".cv2.conv.bias"), 1, /*silu=*/true,
                              shortcut ? &y : nullptr));
  }
  return conv_act(plan, plan.concat(parts), prefix + ".cv2");
}

onednn::Value YoloV8OneDnn::Impl::sppf(onednn::Plan& plan, onednn::Value x) {
  std::vector<onednn::Value> pooled = {conv_act(plan, x, "model.9.cv1")};
  for (int i = 0; i < 3; ++i) pooled.push_back(plan.max_pool(pooled.back(), 5));
  return conv_act(plan, plan.concat(pooled), "model.9.cv2");
}

void YoloV8OneDnn::Impl::head_level(onednn::Plan& plan, onednn::Value feature, int level) {
  for (const char* branch : {"cv2", "cv3"}) {
    const std::string prefix = fmt::format("model.22.{}.{}", branch, level);
    const onednn::Value hidden =
        conv_act(plan, conv_act(plan, feature, prefix + ".0"), prefix + ".1");
    plan.output(plan.conv(hidden, parameter(prefix + ".2.weight"), parameter(prefix + ".2.bias"), 1,
                          /*silu=*/false));
  }
}

void YoloV8OneDnn::Impl::build(onednn::Plan& p, int64_t batch, int64_t height, int64_t width) {
  const auto down = [&](onednn::Value x, int layer) {
    return conv_act(p, x, onednn_layer_name(layer), 2);
  };
  const onednn::Value input = p.input(batch, 3, height, width);
  const auto p2 = c2f(p, down(down(input, 0), 1), 2, true);
  const auto p3 = c2f(p, down(p2, 3), 4, true);
  const auto p4 = c2f(p, down(p3, 5), 6, true);
  const auto p5 = sppf(p, c2f(p, down(p4, 7), 8, true));
  const auto h12 = c2f(p, p.concat({p.upsample2x(p5), p4}), 12, false);
  const auto out3 = c2f(p, p.concat({p.upsample2x(h12), p3}), 15, false);
  const auto out4 = c2f(p, p.concat({down(out3, 16), h12}), 18, false);
  const auto out5 = c2f(p, p.concat({down(out4, 19), p5}), 21, false);
  head_level(p, out3, 0);
  head_level(p, out4, 1);
  head_level(p, out5, 2);
}

torch::Tensor YoloV8OneDnn::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == 3, "oneDNN: input must be [B, 3, H, W]");
  const std::vector<torch::Tensor> outputs = impl_->cache.run(x.to(torch::kFloat32).contiguous());
  std::vector<torch::Tensor> levels;
  for (size_t level = 0; level < 3; ++level) {
    levels.push_back(torch::cat({outputs[2 * level], outputs[2 * level + 1]}, 1));
  }
  return impl_->model->decode_levels(levels);
}

void YoloV8OneDnn::keep_batches(int64_t max_batch, int64_t height, int64_t width) {
  impl_->cache.keep_batches(max_batch, height, width);
}

std::string YoloV8OneDnn::describe() const { return impl_->cache.describe(); }

bool onednn_networks_built() { return true; }

}  // namespace streaminfer
