#pragma once
// A built-in YOLOv8 (yolov8.h) in float32 on oneDNN directly (onednn_plan.h): the same
// convolutions, SiLU, bottleneck adds, concatenations, SPPF max-pools and upsampling, with the
// activations in one oneDNN layout from the first convolution to the head's last ones, whose
// outputs the model itself decodes (YoloV8Impl::decode_levels). Equal to the model's forward up
// to float32 rounding (the order of the sums in each convolution differs).
//
// One plan per input shape (onednn_plan_cache.h), built at its first forward (or by
// keep_batches()); the plans run one at a time, the box decode after them is the model's (one
// caller at a time). Builds without oneDNN's headers (libdnnl-dev) link
// onednn_networks_absent.cpp, whose create() says so.
#include <memory>
#include <string>

#include "infer/onednn_layout.h"
#include "infer/onednn_network.h"
#include "infer/yolov8.h"
#include "streaminfer/status.h"

namespace streaminfer {

class YoloV8OneDnn : public OneDnnNetwork {
 public:
  // `model`: eval mode, BatchNorm fused (YoloV8Impl::fuse_batch_norm), float32, on the CPU. Its
  // parameters are copied into the plans; the model itself serves the box decode.
  static Result<std::unique_ptr<YoloV8OneDnn>> create(YoloV8 model, OneDnnLayout layout);
  ~YoloV8OneDnn() override;

  // x: [B, 3, H, W] float32, H and W multiples of 32. Returns [B, 4 + nc, A] as the model does.
  torch::Tensor forward(const torch::Tensor& x) override;
  void keep_batches(int64_t max_batch, int64_t height, int64_t width) override;
  std::string describe() const override;

 private:
  struct Impl;
  explicit YoloV8OneDnn(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Whether this build has the plans (false: built without oneDNN's headers, create() says so).
inline bool yolov8_onednn_built() { return onednn_networks_built(); }

}  // namespace streaminfer
