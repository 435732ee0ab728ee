#include "infer/yolov8.h"

#include <algorithm>
#include <cmath>

namespace streaminfer {

namespace {

struct Scale {
  double depth, width;
  int max_channels;
};

Scale scale_of(char scale) {
  switch (scale) {
    case 's':
      return {0.33, 0.50, 1024};
    default:
      return {0.33, 0.25, 1024};
  }
}

}  // namespace

YoloV8Impl::YoloV8Impl(char scale_name, int num_classes)
    : num_classes_(num_classes), scale_(scale_name == 's' ? 's' : 'n') {
  const Scale scale = scale_of(scale_name);
  auto ch = [&](int base) {
    const double c = std::min(base, scale.max_channels) * scale.width;
    return static_cast<int>(std::ceil(c / 8.0) * 8);  // Ultralytics' make_divisible(c, 8)
  };
  auto reps = [&](int base) {
    return std::max(static_cast<int>(std::lround(base * scale.depth)), 1);
  };
  using yolo::C2f;
  using yolo::ConvBnAct;
  const int c64 = ch(64), c128 = ch(128), c256 = ch(256), c512 = ch(512), c1024 = ch(1024);

  model = register_module("model", torch::nn::ModuleList());
  auto add_conv = [&](int in, int out) {
    downsample_.emplace_back(in, out, 3, 2);
    model->push_back(downsample_.back());
  };
  auto add_c2f = [&](int in, int out, int n, bool shortcut) {
    c2f_.emplace_back(in, out, n, shortcut);
    model->push_back(c2f_.back());
  };
  auto add_placeholder = [&] { model->push_back(yolo::PassThrough()); };

  add_conv(3, c64);                      // 0  P1/2
  add_conv(c64, c128);                   // 1  P2/4
  add_c2f(c128, c128, reps(3), true);    // 2
  add_conv(c128, c256);                  // 3  P3/8
  add_c2f(c256, c256, reps(6), true);    // 4
  add_conv(c256, c512);                  // 5  P4/16
  add_c2f(c512, c512, reps(6), true);    // 6
  add_conv(c512, c1024);                 // 7  P5/32
  add_c2f(c1024, c1024, reps(3), true);  // 8
  sppf_ = yolo::Sppf(c1024, c1024);      // 9
  model->push_back(sppf_);
  add_placeholder();                                                         // 10 upsample
  add_placeholder();                                                         // 11 concat with 6
  add_c2f(c1024 + c512, c512, reps(3), false);                               // 12
  add_placeholder();                                                         // 13 upsample
  add_placeholder();                                                         // 14 concat with 4
  add_c2f(c512 + c256, c256, reps(3), false);                                // 15 P3 out
  add_conv(c256, c256);                                                      // 16
  add_placeholder();                                                         // 17 concat with 12
  add_c2f(c256 + c512, c512, reps(3), false);                                // 18 P4 out
  add_conv(c512, c512);                                                      // 19
  add_placeholder();                                                         // 20 concat with 9
  add_c2f(c512 + c1024, c1024, reps(3), false);                              // 21 P5 out
  detect_ = yolo::Detect(num_classes, std::vector<int>{c256, c512, c1024});  // 22
  model->push_back(detect_);
}

torch::Tensor YoloV8Impl::forward(const torch::Tensor& x) {
  return detect_->forward(neck_outputs(x));
}

yolo::DetectRaw YoloV8Impl::forward_raw(const torch::Tensor& x) {
  return detect_->forward_raw(neck_outputs(x));
}

std::vector<torch::nn::Module*> YoloV8Impl::backbone() const {
  std::vector<torch::nn::Module*> layers;
  for (size_t i = 0; i <= 9; ++i) layers.push_back(model->ptr(i).get());
  return layers;
}

std::vector<torch::Tensor> YoloV8Impl::neck_outputs(const torch::Tensor& x) {
  namespace F = torch::nn::functional;
  auto up = [](const torch::Tensor& t) {
    return F::interpolate(t, F::InterpolateFuncOptions()
                                 .scale_factor(std::vector<double>{2.0, 2.0})
                                 .mode(torch::kNearest));
  };
  auto& d = downsample_;
  auto& c = c2f_;
  auto p2 = c[0]->forward(d[1]->forward(d[0]->forward(x)));
  auto p3 = c[1]->forward(d[2]->forward(p2));                  // layer 4
  auto p4 = c[2]->forward(d[3]->forward(p3));                  // layer 6
  auto p5 = sppf_->forward(c[3]->forward(d[4]->forward(p4)));  // layer 9
  auto h12 = c[4]->forward(torch::cat({up(p5), p4}, 1));
  auto out3 = c[5]->forward(torch::cat({up(h12), p3}, 1));               // layer 15
  auto out4 = c[6]->forward(torch::cat({d[5]->forward(out3), h12}, 1));  // layer 18
  auto out5 = c[7]->forward(torch::cat({d[6]->forward(out4), p5}, 1));   // layer 21
  return {out3, out4, out5};
}

namespace {

// Ultralytics' yolov8.yaml "from" column: the layers whose outputs each layer reads (-1: the one
// before it).
const std::vector<std::vector<int>>& layer_inputs() {
  static const std::vector<std::vector<int>> inputs = {
      {-1},         {-1}, {-1}, {-1}, {-1}, {-1}, {-1}, {-1}, {-1}, {-1}, {-1},  // 0-10
      {-1, 6},                                                                   // 11 concat
      {-1},                                                                      // 12
      {-1},                                                                      // 13 upsample
      {-1, 4},                                                                   // 14 concat
      {-1},         {-1},                                                        // 15, 16
      {-1, 12},                                                                  // 17 concat
      {-1},         {-1},                                                        // 18, 19
      {-1, 9},                                                                   // 20 concat
      {-1},                                                                      // 21
      {15, 18, 21},                                                              // 22 detect
  };
  return inputs;
}

int resolve(int from, int layer) { return from < 0 ? layer - 1 : from; }

}  // namespace

std::map<int, torch::Tensor> YoloV8Impl::run_to(const torch::Tensor& x, int last_layer) {
  std::map<int, torch::Tensor> outputs;
  outputs[-1] = x;
  for (int layer = 0; layer <= last_layer; ++layer) outputs[layer] = run_layer(layer, outputs);
  // Keep what a later layer reads.
  std::map<int, torch::Tensor> kept;
  const auto& inputs = layer_inputs();
  for (int layer = last_layer + 1; layer < static_cast<int>(inputs.size()); ++layer) {
    for (int from : inputs[layer]) {
      const int source = resolve(from, layer);
      if (source <= last_layer) kept[source] = outputs[source];
    }
  }
  return kept;
}

torch::Tensor YoloV8Impl::run_from(std::map<int, torch::Tensor> outputs, int first_layer) {
  const int last = static_cast<int>(layer_inputs().size()) - 1;
  for (int layer = first_layer; layer < last; ++layer) outputs[layer] = run_layer(layer, outputs);
  return detect_->forward({outputs.at(15), outputs.at(18), outputs.at(21)});
}

torch::Tensor YoloV8Impl::run_layer(int layer, const std::map<int, torch::Tensor>& outputs) {
  const auto& from = layer_inputs()[layer];
  const torch::Tensor& x = outputs.at(resolve(from[0], layer));
  switch (layer) {
    case 10:
    case 13:
      return torch::nn::functional::interpolate(x, torch::nn::functional::InterpolateFuncOptions()
                                                       .scale_factor(std::vector<double>{2.0, 2.0})
                                                       .mode(torch::kNearest));
    case 11:
    case 14:
    case 17:
    case 20:
      return torch::cat({x, outputs.at(from[1])}, 1);
    case 9:
      return sppf_->forward(x);
    default:
      return forward_block(layer, x);
  }
}

torch::Tensor YoloV8Impl::forward_block(int layer, const torch::Tensor& x) {
  static const std::map<int, int> kDownsample = {{0, 0}, {1, 1},  {3, 2}, {5, 3},
                                                 {7, 4}, {16, 5}, {19, 6}};
  static const std::map<int, int> kC2f = {{2, 0},  {4, 1},  {6, 2},  {8, 3},
                                          {12, 4}, {15, 5}, {18, 6}, {21, 7}};
  if (auto d = kDownsample.find(layer); d != kDownsample.end()) {
    return downsample_[d->second]->forward(x);
  }
  return c2f_[kC2f.at(layer)]->forward(x);
}

Result<int> YoloV8Impl::fuse_batch_norm() {
  if (is_training()) {
    return Status::error("fusing BatchNorm needs the model in eval mode (it folds running stats)");
  }
  int fused = 0;
  for (const auto& module : modules(/*include_self=*/false)) {
    if (auto* block = module->as<yolo::ConvBnActImpl>(); block != nullptr && !block->fused()) {
      block->fuse_batch_norm();
      ++fused;
    }
  }
  return fused;
}

void convert_to_channels_last(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  const auto convert = [](torch::Tensor& t) {
    if (t.defined() && t.dim() == 4) t.set_data(t.contiguous(torch::MemoryFormat::ChannelsLast));
  };
  for (auto& p : module.parameters(true)) convert(p);
  for (auto& b : module.buffers(true)) convert(b);
}

void convert_to_contiguous(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  const auto convert = [](torch::Tensor& t) {
    if (t.defined() && t.dim() == 4) t.set_data(t.contiguous());
  };
  for (auto& p : module.parameters(true)) convert(p);
  for (auto& b : module.buffers(true)) convert(b);
}

}  // namespace streaminfer
