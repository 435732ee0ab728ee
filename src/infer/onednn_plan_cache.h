#pragma once
// The plans of one network, one per input shape (onednn_plan.h), with what they share: the
// oneDNN engine and stream, the weights in the primitives' layouts, and one activation arena
// (one plan runs at a time). A network (yolov8_onednn.cpp, resnet_onednn.cpp) gives the function
// that builds a plan for a shape; the cache builds each shape's at its first run or keep().
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "infer/onednn_plan.h"

namespace streaminfer::onednn {

class PlanCache {
 public:
  // Adds the steps of the network for `batch` x 3 x `height` x `width` to a new plan, from its
  // input() to its output()s; finish() is the cache's. May throw (the plan is then dropped).
  using Builder = std::function<void(Plan& plan, int64_t batch, int64_t height, int64_t width)>;

  // Throws dnnl::error when oneDNN has no CPU engine.
  PlanCache(OneDnnLayout layout, Builder build, Winograd winograd = Winograd::kWhereFaster);

  // Runs the plan of `input`'s shape ([B, 3, H, W] float32 contiguous), built first if needed;
  // the plan's outputs in the order its output() calls named them.
  std::vector<torch::Tensor> run(const torch::Tensor& input);
  // OneDnnNetwork::keep_batches() and describe().
  void keep_batches(int64_t max_batch, int64_t height, int64_t width);
  std::string describe() const;

 private:
  Plan& plan_for(int64_t batch, int64_t height, int64_t width);

  OneDnnLayout layout_;
  Builder build_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  WeightCache weights_;        // before the plans, which refer to it
  ConvAlgorithms algorithms_;  // the same
  std::map<std::tuple<int64_t, int64_t, int64_t>, std::unique_ptr<Plan>> plans_;
  const Plan* last_ = nullptr;
  torch::Tensor arena_;  // bytes, shared by the plans (one runs at a time)
  mutable std::mutex mutex_;
};

}  // namespace streaminfer::onednn
