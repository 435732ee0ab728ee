#pragma once
// A float32 network executed by oneDNN directly, planned once per input shape.
//
// LibTorch runs each convolution through oneDNN too, but as a single operator: it reorders the
// activations into oneDNN's layout and back around every convolution, runs SiLU, the residual
// adds and the concatenations as separate passes over memory, and (without channels-last)
// reorders the weights at each call. A plan keeps every activation in one layout (OneDnnLayout)
// from the first convolution to the last, reorders the weights once when it is built, and fuses
// bias, SiLU and a residual add into the convolution that produces them: what ONNX Runtime's CPU
// kernels do in their blocked layout. Only the network's edges convert.
//
// The activations live in one arena that the caller provides at run(): each is placed at an
// offset where no activation alive at the same step is (first fit by size), so the arena is a
// fraction of the activations' total, and the plans of one model can share it.
//
// A plan is built for one batch size and image size (oneDNN's primitives are made for fixed
// shapes); run() executes it on the calling thread with LibTorch's intra-op thread count (the
// same OpenMP runtime). Not thread-safe: one caller at a time.
#include <torch/types.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "infer/onednn_layout.h"

namespace streaminfer::onednn {

// An activation inside a plan (an index into its memories).
struct Value {
  int id = -1;
};

// Convolution weights and biases already in a primitive's layout, shared by the plans of one
// model: a plan of another batch size mostly picks the same layouts and reuses them.
class WeightCache {
 public:
  // The reordered weights of `weight` (by its data) in `desc`'s layout, or null memories.
  std::pair<dnnl::memory, dnnl::memory> find(const void* weight, const dnnl::memory::desc& desc,
                                             const dnnl::memory::desc& bias_desc) const;
  void add(const void* weight, dnnl::memory weights, dnnl::memory biases);
  size_t bytes() const { return bytes_; }

 private:
  struct Entry {
    const void* weight;
    dnnl::memory weights, biases;
  };
  std::vector<Entry> entries_;
  size_t bytes_ = 0;
};

// The algorithm measured for each convolution shape, shared by the plans of one model.
class ConvAlgorithms {
 public:
  explicit ConvAlgorithms(Winograd winograd = Winograd::kWhereFaster) : winograd_(winograd) {}
  Winograd winograd() const { return winograd_; }
  // Whether `shape` (a description of the convolution and its batch) was measured faster with
  // Winograd; null when it was not measured yet.
  const bool* find(const std::string& shape) const;
  void add(const std::string& shape, bool winograd) { faster_[shape] = winograd; }

 private:
  Winograd winograd_;
  std::unordered_map<std::string, bool> faster_;
};

class Plan {
 public:
  // One plan per shape; `engine`, `stream`, `weights` and `algorithms` are shared by the plans of
  // one model.
  Plan(const dnnl::engine& engine, const dnnl::stream& stream, OneDnnLayout layout,
       WeightCache& weights, ConvAlgorithms& algorithms);

  // Building, in execution order. Each returns the value it produces.
  // The network's input: plain NCHW float32, bound at run().
  Value input(int64_t batch, int64_t channels, int64_t height, int64_t width);
  // A convolution with square `kernel`, padding kernel / 2, bias, then SiLU when `silu`, then
  // `residual` added when given (y = residual + silu(conv(x)), YOLOv8's bottleneck). `weight` is
  // [out, in, k, k] float32 (copied: the tensor need not outlive the plan).
  Value conv(Value x, const torch::Tensor& weight, const torch::Tensor& bias, int64_t stride,
             bool silu, const Value* residual = nullptr);
  // The same with ReLU after the residual add (y = relu(conv(x) + residual), ResNet's blocks), or
  // after the convolution alone when `residual` is null; no ReLU when `relu` is false. The sum is
  // made in the residual's own memory (oneDNN's sum post-op: the output overwrites it, and the
  // fastest 1x1 kernels take it where they refuse a binary add): nothing may read `residual`
  // after this step.
  Value conv_relu(Value x, const torch::Tensor& weight, const torch::Tensor& bias, int64_t stride,
                  bool relu, const Value* residual = nullptr);
  // Concatenation along channels.
  Value concat(const std::vector<Value>& parts);
  // Max-pooling with a square window, padding kernel / 2 (stride 1 keeps the size).
  Value max_pool(Value x, int64_t kernel, int64_t stride = 1);
  // Nearest-neighbour upsampling by 2 in height and width.
  Value upsample2x(Value x);
  // Marks `v` as the next output of run().
  void output(Value v);
  // Places the activations in the arena; nothing is built after it.
  void finish();
  // Whether a step other than a reorder reads an activation whose layout pads its channels (the
  // blocked layout with a channel count that is not a multiple of the block): the padding, which
  // the arena shares with other activations, would be read as data. (The head's last outputs are
  // padded and only reordered to plain NCHW.)
  bool padded() const { return padded_; }
  int64_t batch() const { return batch_; }

  // Bytes of arena run() needs (after finish()).
  size_t arena_bytes() const { return arena_bytes_; }
  // Runs the plan on `input` ([B, C, H, W] float32 contiguous of the planned shape) with its
  // activations in `arena` (arena_bytes(), 64-byte aligned) and returns the outputs as new
  // tensors (channels-last ones where the plan's layout is), in the order output() named them.
  std::vector<torch::Tensor> run(const torch::Tensor& input, void* arena);

  // e.g. "71 convolutions, activations nhwc (24.2 MB in an arena of 6.1 MB)", or "53
  // convolutions (13 Winograd), activations nChw16c (...)".
  std::string describe() const;

 private:
  // DNNL_ARG_* -> memory. dnnl::memory is a handle: a step's entry follows set_data_handle().
  using Args = std::unordered_map<int, dnnl::memory>;
  struct Step {
    dnnl::primitive primitive;
    Args args;
    size_t scratchpad_bytes = 0;  // what the primitive needs of the plan's scratch space
  };
  // An activation's bytes and the steps from its producer to its last reader.
  struct Lifetime {
    size_t bytes = 0;
    size_t first = 0, last = 0;
    size_t offset = 0;    // in the arena, set by finish()
    bool padded = false;  // its layout pads the channels (bytes beyond the values)
  };
  int add_memory(const dnnl::memory::desc& desc);
  // The next step; its primitive was made with with_own_scratchpad() and needs `scratchpad`.
  void add_step(dnnl::primitive primitive, Args args, const dnnl::memory::desc& scratchpad);
  // `direct`, or its Winograd form from `make_winograd` (which throws where oneDNN has none for
  // its layouts and post-ops) where ConvAlgorithms says to run that instead, both timed first
  // under Winograd::kWhereFaster. `shape` names the convolution for ConvAlgorithms.
  dnnl::convolution_forward::primitive_desc choose_algorithm(
      const dnnl::convolution_forward::primitive_desc& direct,
      const std::function<dnnl::convolution_forward::primitive_desc()>& make_winograd,
      const std::string& shape);
  // conv() and conv_relu(): `ops` fused after the convolution; the residual, when given, is the
  // source of post-op number `residual_op`, or (residual_op < 0) the destination that a sum
  // post-op accumulates into.
  Value convolution(Value x, const torch::Tensor& weight, const torch::Tensor& bias, int64_t stride,
                    const dnnl::post_ops& ops, const Value* residual, int residual_op);
  // The memory of `id` as an argument of the step about to be added (extends its lifetime).
  // `reads_padding`: the step computes with the padded channels too (all but a reorder).
  const dnnl::memory& use(int id, bool reads_padding = true);
  dnnl::memory::desc activation(const dnnl::memory::dims& dims) const;
  // The memory index of `v` in `desc`'s layout: `v` itself, or a reorder into a new memory.
  int in_layout(Value v, const dnnl::memory::desc& desc);
  dnnl::memory::desc desc_of(Value v) const { return memories_[v.id].get_desc(); }

  dnnl::engine engine_;
  dnnl::stream stream_;
  std::vector<dnnl::memory> memories_;
  std::vector<Lifetime> lifetimes_;  // one per memory; the input's is unused
  std::vector<Step> steps_;
  int input_ = -1;
  std::vector<int> outputs_;
  WeightCache& weights_;
  ConvAlgorithms& algorithms_;
  size_t convolutions_ = 0;
  size_t winograd_convolutions_ = 0;
  bool padded_ = false;
  int64_t batch_ = 0;
  size_t arena_bytes_ = 0;
  void* bound_arena_ = nullptr;  // where the memories point now
  // The steps' scratch space (null when none needs one): in the arena at scratchpad_offset_, so
  // a plan runs on any thread (the library's own is the creating thread's).
  dnnl::memory scratchpad_;
  size_t scratchpad_offset_ = 0;
  std::string activation_layout_;
  int activation_tag_ = 0;  // a dnnl::memory::format_tag
};

// oneDNN's layout name of a memory descriptor, e.g. "nChw16c", "nchw", "nhwc", or "blocked".
std::string layout_name(const dnnl::memory::desc& desc);

}  // namespace streaminfer::onednn
