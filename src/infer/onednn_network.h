#pragma once
// A built-in network in float32 on oneDNN directly (onednn_plan.h): what the backend runs as a
// `--fp32-kernels onednn-*` candidate. YoloV8OneDnn and ResNetOneDnn are the two; this header
// needs none of oneDNN's, so builds without them link the stubs (onednn_networks_absent.cpp).
#include <torch/types.h>

#include <cstdint>
#include <string>

namespace streaminfer {

class OneDnnNetwork {
 public:
  virtual ~OneDnnNetwork() = default;
  // x: [B, 3, H, W] float32 as the model's forward takes it; returns what the model's forward
  // returns, equal up to float32 rounding (the order of the sums in each convolution differs).
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
  // Keeps the plans of batches 1..max_batch at height x width, built now (a partial batch later
  // finds its plan ready instead of building one on the inference thread), and frees the others.
  virtual void keep_batches(int64_t max_batch, int64_t height, int64_t width) = 0;
  // The plan of the last shape run or kept, e.g. "71 convolutions, activations nhwc (...),
  // weights 12.6 MB" (the weights shared by all the plans).
  virtual std::string describe() const = 0;
};

// Whether this build has the plans (false: built without oneDNN's headers; the networks' create()
// says so).
bool onednn_networks_built();

}  // namespace streaminfer
