#pragma once
// YOLOv8 with int8 convolutions: post-training quantization of a built-in YOLOv8 (yolov8.h) on
// LibTorch's quantized CPU operators (quantized_ops.h).
//
// The graph is written once (run()) and executes in two modes. Calibrating, it is the float32
// model and records the range of every activation it produces; converted, every convolution but
// the head's last ones runs in int8 with those ranges: weights per output channel, activations
// per tensor, SiLU as a 256-entry code table, concat, the residual adds, max-pool and nearest
// upsampling on quint8 tensors. The head's six final 1x1 convolutions (box-bin and class logits,
// where a quantization step would move boxes and scores directly) stay float32, as does the box
// decode.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "infer/int8_model.h"
#include "infer/yolov8.h"
#include "streaminfer/status.h"

namespace streaminfer {

class YoloV8Int8 : public Int8Model {
 public:
  // `model`: eval mode, BatchNorm fused (YoloV8Impl::fuse_batch_norm), float32, on the CPU. It is
  // shared, not copied: it supplies the weights and the box decode.
  static Result<YoloV8Int8> create(YoloV8 model);

  // calibrate() and forward() return [B, 4 + nc, A] float32, as YoloV8Impl::forward.

 private:
  explicit YoloV8Int8(YoloV8 model);
  torch::Tensor run(const torch::Tensor& x) override;
  float range_floor(const std::string& site, float min) const override;
  void after_convert() override;
  torch::Tensor conv_act(const torch::Tensor& x, const std::string& prefix, int64_t stride = 1);
  torch::Tensor c2f(const torch::Tensor& x, int layer, bool shortcut);
  torch::Tensor sppf(const torch::Tensor& x);
  torch::Tensor cat(const std::vector<torch::Tensor>& xs, const std::string& site);
  torch::Tensor upsample(const torch::Tensor& x);
  torch::Tensor head_level(const torch::Tensor& feature, int level);
  torch::Tensor final_conv(const torch::Tensor& x, const std::string& prefix);

  YoloV8 model_;
  std::map<int, int> repeats_;         // C2f layer -> bottlenecks
  std::set<std::string> split_convs_;  // C2f cv1s, packed as two halves too ("#0", "#1")
  std::map<std::string, int8::CodeTable> silu_;
};

}  // namespace streaminfer
