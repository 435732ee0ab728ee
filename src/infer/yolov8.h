#pragma once
// YOLOv8 detection model (Ultralytics yolov8.yaml) built in C++. Scales "n" and "s".
// Parameter names are Ultralytics' ("model.0.conv.weight", "model.22.cv3.0.2.bias", ...).
#include <torch/nn.h>

#include "infer/yolov8_blocks.h"
#include "streaminfer/status.h"

namespace streaminfer {

class YoloV8Impl : public torch::nn::Module {
 public:
  // scale: 'n' or 's'.
  YoloV8Impl(char scale, int num_classes);
  // x: [B, 3, H, W], H and W multiples of 32. Returns [B, 4 + nc, A].
  torch::Tensor forward(const torch::Tensor& x);
  // The head's outputs before decoding, for training (see yolo::DetectRaw).
  yolo::DetectRaw forward_raw(const torch::Tensor& x);
  // Split execution (--split-point): run_layers(x, 0, k) runs layers 0..k and returns the outputs
  // that layers after k read (by layer index, k's own included); run_from(outputs, k + 1) runs
  // the rest from them and returns what forward() returns. k in [0, kLastSplitLayer].
  static constexpr int kLastSplitLayer = 21;
  std::map<int, torch::Tensor> run_to(const torch::Tensor& x, int last_layer);
  torch::Tensor run_from(std::map<int, torch::Tensor> outputs, int first_layer);
  // [B, 4 + nc, A] as forward() returns it, from forward_raw()'s outputs.
  torch::Tensor decode(const yolo::DetectRaw& raw) { return detect_->decode(raw); }
  // [B, 4 + nc, A] from the head's per-level outputs (see yolo::DetectImpl::raw_from_levels).
  torch::Tensor decode_levels(const std::vector<torch::Tensor>& levels) {
    return detect_->decode(detect_->raw_from_levels(levels));
  }
  // Layers 0-9 (the backbone, up to SPPF): what fine-tuning freezes.
  std::vector<torch::nn::Module*> backbone() const;
  int num_classes() const { return num_classes_; }
  char scale() const { return scale_; }
  // Inference only: folds every BatchNorm into the convolution before it (see
  // yolo::ConvBnActImpl::fuse_batch_norm). Fails in training mode. Returns the number fused.
  Result<int> fuse_batch_norm();

 private:
  torch::Tensor run_layer(int layer, const std::map<int, torch::Tensor>& outputs);
  torch::Tensor forward_block(int layer, const torch::Tensor& x);  // a Conv or C2f layer
  // The three feature maps (strides 8, 16, 32) the head reads.
  std::vector<torch::Tensor> neck_outputs(const torch::Tensor& x);

  int num_classes_;
  char scale_;
  torch::nn::ModuleList model{nullptr};
  std::vector<yolo::ConvBnAct> downsample_;  // layers 0, 1, 3, 5, 7, 16, 19 in that order
  std::vector<yolo::C2f> c2f_;               // layers 2, 4, 6, 8, 12, 15, 18, 21
  yolo::Sppf sppf_{nullptr};                 // layer 9
  yolo::Detect detect_{nullptr};             // layer 22
};
TORCH_MODULE(YoloV8);

// Stores every 4-D parameter and buffer of `module` channels-last (NHWC in memory), so that
// oneDNN convolutions on channels-last inputs need no weight reorder at each call.
void convert_to_channels_last(torch::nn::Module& module);
// The reverse: every 4-d parameter and buffer back to contiguous (NCHW).
void convert_to_contiguous(torch::nn::Module& module);

}  // namespace streaminfer
