#include "infer/onednn_plan.h"

#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <utility>

namespace streaminfer::onednn {

namespace {

using dnnl::algorithm;
using dnnl::memory;
using dnnl::prop_kind;
using Tag = memory::format_tag;

constexpr std::array<std::pair<Tag, const char*>, 5> kOneDnnLayouts{{{Tag::nChw16c, "nChw16c"},
                                                                     {Tag::nChw8c, "nChw8c"},
                                                                     {Tag::nhwc, "nhwc"},
                                                                     {Tag::nchw, "nchw"},
                                                                     {Tag::x, "x"}}};

constexpr size_t kArenaAlignment = 64;  // a cache line: what oneDNN's own buffers are aligned to

memory::desc plain_desc(const memory::dims& dims) {
  return memory::desc(dims, memory::data_type::f32, dims.size() == 1 ? Tag::x : Tag::nchw);
}

memory zeroed_memory(const memory::desc& desc, const dnnl::engine& engine) {
  memory m(desc, engine);
  std::memset(m.get_data_handle(), 0, desc.get_size());
  return m;
}

// Milliseconds a run of each of `candidates` takes on zeroed buffers of its own (uninitialized
// floats may be denormals, which slow a kernel down), with the reorders from `plan_src` into its
// source's layout and from its destination's into `plan_dst` where they differ: the fastest of a
// few runs, the candidates taking turns so that a busy moment of the machine falls on all alike.
std::vector<double> time_convolutions(
    const std::vector<dnnl::convolution_forward::primitive_desc>& candidates,
    const memory::desc& plan_src, const memory::desc& plan_dst, const dnnl::engine& engine,
    dnnl::stream& stream) {
  constexpr int kRuns = 4;                // after one untimed run each
  at::internal::lazy_init_num_threads();  // LibTorch's thread count, as Plan::run() has it
  using Args = std::unordered_map<int, memory>;
  std::vector<std::vector<std::pair<dnnl::primitive, Args>>> runs;
  for (const auto& pd : candidates) {
    Args args;
    for (const auto& [arg, desc] : {std::pair{DNNL_ARG_SRC, pd.src_desc()},
                                    {DNNL_ARG_WEIGHTS, pd.weights_desc()},
                                    {DNNL_ARG_BIAS, pd.bias_desc()},
                                    {DNNL_ARG_DST, pd.dst_desc()}}) {
      args.emplace(arg, zeroed_memory(desc, engine));
    }
    if (pd.scratchpad_desc().get_size() > 0) {
      args.emplace(DNNL_ARG_SCRATCHPAD, zeroed_memory(pd.scratchpad_desc(), engine));
    }
    std::vector<std::pair<dnnl::primitive, Args>> steps;
    if (pd.src_desc() != plan_src) {
      memory from = zeroed_memory(plan_src, engine);
      steps.push_back({dnnl::reorder(from, args.at(DNNL_ARG_SRC)),
                       {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, args.at(DNNL_ARG_SRC)}}});
    }
    steps.push_back({dnnl::convolution_forward(pd), args});
    if (pd.dst_desc() != plan_dst) {
      memory to = zeroed_memory(plan_dst, engine);
      steps.push_back({dnnl::reorder(args.at(DNNL_ARG_DST), to),
                       {{DNNL_ARG_FROM, args.at(DNNL_ARG_DST)}, {DNNL_ARG_TO, to}}});
    }
    runs.push_back(std::move(steps));
  }
  std::vector<double> best(candidates.size(), std::numeric_limits<double>::infinity());
  for (int run = 0; run <= kRuns; ++run) {
    for (size_t c = 0; c < runs.size(); ++c) {
      const auto start = std::chrono::steady_clock::now();
      for (auto& [primitive, args] : runs[c]) primitive.execute(stream, args);
      stream.wait();
      const std::chrono::duration<double, std::milli> took =
          std::chrono::steady_clock::now() - start;
      if (run > 0) best[c] = std::min(best[c], took.count());
    }
  }
  return best;
}

// Every step's scratch space is the plan's, in its arena (DNNL_ARG_SCRATCHPAD), not oneDNN's:
// the library's lives in the thread that created the primitive, so a plan built on one thread
// and run on another (a service's new model, built beside the running one) wrote out of bounds.
dnnl::primitive_attr with_own_scratchpad(dnnl::primitive_attr attr = {}) {
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

}  // namespace

const bool* ConvAlgorithms::find(const std::string& shape) const {
  const auto found = faster_.find(shape);
  return found == faster_.end() ? nullptr : &found->second;
}

std::string layout_name(const memory::desc& desc) {
  for (const auto& [tag, name] : kOneDnnLayouts) {
    // allow_empty: a tag of another rank gives an empty descriptor instead of throwing.
    if (desc == memory::desc(desc.dims(), memory::data_type::f32, tag, /*allow_empty=*/true)) {
      return name;
    }
  }
  return "blocked";
}

std::pair<memory, memory> WeightCache::find(const void* weight, const memory::desc& desc,
                                            const memory::desc& bias_desc) const {
  for (const auto& e : entries_) {
    if (e.weight == weight && e.weights.get_desc() == desc && e.biases.get_desc() == bias_desc) {
      return {e.weights, e.biases};
    }
  }
  return {};
}

void WeightCache::add(const void* weight, memory weights, memory biases) {
  bytes_ += weights.get_desc().get_size() + biases.get_desc().get_size();
  entries_.push_back({weight, std::move(weights), std::move(biases)});
}

Plan::Plan(const dnnl::engine& engine, const dnnl::stream& stream, OneDnnLayout layout,
           WeightCache& weights, ConvAlgorithms& algorithms)
    : engine_(engine), stream_(stream), weights_(weights), algorithms_(algorithms) {
  // cpu_isa values are bit sets (avx2_vnni's is above avx512_core's without containing it).
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  const auto avx512_core = static_cast<unsigned>(dnnl::cpu_isa::avx512_core);
  const bool avx512 = (isa & avx512_core) == avx512_core;
  const Tag tag = layout == OneDnnLayout::kChannelsLast ? Tag::nhwc
                  : avx512                              ? Tag::nChw16c
                                                        : Tag::nChw8c;
  activation_tag_ = static_cast<int>(tag);
}

memory::desc Plan::activation(const memory::dims& dims) const {
  return memory::desc(dims, memory::data_type::f32, static_cast<Tag>(activation_tag_));
}

int Plan::add_memory(const memory::desc& desc) {
  const memory::dims dims = desc.dims();
  int64_t elements = 1;
  for (int64_t d : dims) elements *= d;
  const bool padded = desc.get_size() != static_cast<size_t>(elements) * sizeof(float);
  // No buffer of its own: finish() places it in the arena.
  memories_.emplace_back(desc, engine_, nullptr);
  lifetimes_.push_back({desc.get_size(), steps_.size(), steps_.size(), 0, padded});
  return static_cast<int>(memories_.size()) - 1;
}

const memory& Plan::use(int id, bool reads_padding) {
  lifetimes_[id].last = std::max(lifetimes_[id].last, steps_.size());
  if (reads_padding && lifetimes_[id].padded) padded_ = true;
  return memories_[id];
}

int Plan::in_layout(Value v, const memory::desc& desc) {
  if (desc_of(v) == desc) return v.id;
  const int to = add_memory(desc);
  const memory& from = use(v.id, /*reads_padding=*/false);  // a reorder copies the values only
  const dnnl::reorder::primitive_desc pd(from, memories_[to], with_own_scratchpad());
  add_step(dnnl::reorder(pd), {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, memories_[to]}},
           pd.scratchpad_desc());
  return to;
}

Value Plan::input(int64_t batch, int64_t channels, int64_t height, int64_t width) {
  // Bound to the caller's tensor at run(): no copy of the input, no place in the arena.
  input_ = add_memory(plain_desc({batch, channels, height, width}));
  batch_ = batch;
  return {input_};
}

Value Plan::conv(Value x, const torch::Tensor& weight, const torch::Tensor& bias, int64_t stride,
                 bool silu, const Value* residual) {
  dnnl::post_ops ops;
  if (silu) ops.append_eltwise(1.0f, algorithm::eltwise_swish, 1.0f, 0.0f);
  if (residual != nullptr) ops.append_binary(algorithm::binary_add, desc_of(*residual));
  return convolution(x, weight, bias, stride, ops, residual, silu ? 1 : 0);
}

Value Plan::conv_relu(Value x, const torch::Tensor& weight, const torch::Tensor& bias,
                      int64_t stride, bool relu, const Value* residual) {
  dnnl::post_ops ops;
  if (residual != nullptr) ops.append_sum(1.0f);
  if (relu) ops.append_eltwise(1.0f, algorithm::eltwise_relu, 0.0f, 0.0f);
  return convolution(x, weight, bias, stride, ops, residual, -1);
}

Value Plan::convolution(Value x, const torch::Tensor& weight, const torch::Tensor& bias,
                        int64_t stride, const dnnl::post_ops& ops, const Value* residual,
                        int residual_op) {
  const memory::desc src = desc_of(x);
  const memory::dims in = src.dims();
  const int64_t out_channels = weight.size(0), kernel = weight.size(2), pad = kernel / 2;
  const int64_t out_h = (in[2] + 2 * pad - kernel) / stride + 1;
  const int64_t out_w = (in[3] + 2 * pad - kernel) / stride + 1;
  const memory::dims dst_dims{in[0], out_channels, out_h, out_w};
  const memory::dims weight_dims{out_channels, in[1], kernel, kernel};

  dnnl::primitive_attr attr = with_own_scratchpad();
  attr.set_post_ops(ops);

  const auto make = [&](const memory::desc& src_desc,
                        algorithm method = algorithm::convolution_direct,
                        const memory::desc& dst_desc = {}) {
    return dnnl::convolution_forward::primitive_desc(
        dnnl::convolution_forward::desc(
            prop_kind::forward_inference, method, src_desc,
            memory::desc(weight_dims, memory::data_type::f32, Tag::any),
            memory::desc({out_channels}, memory::data_type::f32, Tag::x),
            dst_desc.is_zero() ? activation(dst_dims) : dst_desc, {stride, stride}, {pad, pad},
            {pad, pad}),
        attr, engine_);
  };
  // The source as it is, so that no reorder runs between two convolutions. Where only oneDNN's
  // reference implementation reads that layout (tens of times slower), the source is reordered
  // to what a fast one reads instead (the network's first convolution reads plain NCHW).
  dnnl::convolution_forward::primitive_desc pd;
  try {
    pd = make(src);
  } catch (const dnnl::error&) {
  }
  if (!pd || std::string(pd.impl_info_str()).starts_with("ref")) {
    pd = make(memory::desc(in, memory::data_type::f32, Tag::any));
  }
  // Winograd where its post-ops are ReLU and the sum into a residual (a binary add's second
  // source would need a memory to time it with): in the plan's layouts where oneDNN has it for
  // them (the blocked one), else in its own with a reorder on each side (timed with them), but
  // not when it sums into a residual, which is in the plan's layout.
  const bool binary_residual = residual != nullptr && residual_op >= 0;
  if (kernel == 3 && stride == 1 && !binary_residual) {
    const dnnl::convolution_forward::primitive_desc direct = pd;
    pd = choose_algorithm(
        direct,
        [&] {
          try {
            return make(direct.src_desc(), algorithm::convolution_winograd, direct.dst_desc());
          } catch (const dnnl::error&) {
            if (residual != nullptr) throw;
            return make(memory::desc(in, memory::data_type::f32, Tag::any),
                        algorithm::convolution_winograd,
                        memory::desc(dst_dims, memory::data_type::f32, Tag::any));
          }
        },
        fmt::format("{}x{}x{}x{} -> {} channels, {} post-ops, {}", in[0], in[1], in[2], in[3],
                    out_channels, ops.len(), layout_name(direct.src_desc())));
  }

  // Weights and bias in the primitive's layout, once for all the model's plans.
  auto [weights, biases] = weights_.find(weight.data_ptr(), pd.weights_desc(), pd.bias_desc());
  if (!weights) {
    const torch::Tensor w = weight.to(torch::kFloat32).contiguous();
    memory user_weights(plain_desc(weight_dims), engine_, w.data_ptr());
    weights = memory(pd.weights_desc(), engine_);
    dnnl::reorder(user_weights, weights).execute(stream_, user_weights, weights);
    stream_.wait();
    biases = memory(pd.bias_desc(), engine_);
    const torch::Tensor b = bias.to(torch::kFloat32).contiguous();
    std::memcpy(biases.get_data_handle(), b.data_ptr(), pd.bias_desc().get_size());
    weights_.add(weight.data_ptr(), weights, biases);
  }

  const int src_id = in_layout(x, pd.src_desc());
  const bool sum_into_residual = residual != nullptr && residual_op < 0;
  if (sum_into_residual && pd.dst_desc() != desc_of(*residual)) {
    throw std::runtime_error("oneDNN: a residual to sum into is not in the convolution's layout");
  }
  const int dst = sum_into_residual ? residual->id : add_memory(pd.dst_desc());
  Args args{{DNNL_ARG_SRC, use(src_id)},
            {DNNL_ARG_WEIGHTS, weights},
            {DNNL_ARG_BIAS, biases},
            {DNNL_ARG_DST, sum_into_residual ? use(dst) : memories_[dst]}};
  if (residual != nullptr && !sum_into_residual) {
    args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(residual_op) | DNNL_ARG_SRC_1] = use(residual->id);
  }
  add_step(dnnl::convolution_forward(pd), std::move(args), pd.scratchpad_desc());
  // Winograd in its own layout: back to the plan's for the steps after it.
  const int out = sum_into_residual || pd.dst_desc() == activation(dst_dims)
                      ? dst
                      : in_layout({dst}, activation(dst_dims));
  ++convolutions_;
  if (std::string(pd.impl_info_str()).find("wino") != std::string::npos) ++winograd_convolutions_;
  if (activation_layout_.empty()) activation_layout_ = layout_name(desc_of({out}));
  return {out};
}

dnnl::convolution_forward::primitive_desc Plan::choose_algorithm(
    const dnnl::convolution_forward::primitive_desc& direct,
    const std::function<dnnl::convolution_forward::primitive_desc()>& make_winograd,
    const std::string& shape) {
  if (algorithms_.winograd() == Winograd::kNever) return direct;
  const bool* measured = algorithms_.find(shape);
  if (measured != nullptr && !*measured) return direct;
  dnnl::convolution_forward::primitive_desc winograd;
  try {
    winograd = make_winograd();
  } catch (const dnnl::error&) {
    algorithms_.add(shape, false);  // none for these layouts or post-ops, or on this CPU
    return direct;
  }
  if (measured == nullptr && algorithms_.winograd() == Winograd::kWhereFaster) {
    const std::vector<double> ms = time_convolutions({direct, winograd}, direct.src_desc(),
                                                     direct.dst_desc(), engine_, stream_);
    algorithms_.add(shape, ms[1] < ms[0]);
    if (ms[1] >= ms[0]) return direct;
  }
  return winograd;
}

Value Plan::concat(const std::vector<Value>& parts) {
  std::vector<memory::desc> descs;
  memory::dims dims = desc_of(parts.front()).dims();
  dims[1] = 0;
  for (Value v : parts) {
    descs.push_back(desc_of(v));
    dims[1] += descs.back().dims()[1];
  }
  const dnnl::concat::primitive_desc pd(activation(dims), 1, descs, engine_, with_own_scratchpad());
  const int dst = add_memory(pd.dst_desc());
  Args args{{DNNL_ARG_DST, memories_[dst]}};
  for (size_t i = 0; i < parts.size(); ++i) {
    args[DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i)] = use(parts[i].id);
  }
  add_step(dnnl::concat(pd), std::move(args), pd.scratchpad_desc());
  return {dst};
}

Value Plan::max_pool(Value x, int64_t kernel, int64_t stride) {
  const memory::desc src = desc_of(x);
  const int64_t pad = kernel / 2;
  memory::dims dims = src.dims();
  for (size_t i : {2, 3}) dims[i] = (dims[i] + 2 * pad - kernel) / stride + 1;
  const dnnl::pooling_forward::primitive_desc pd(
      dnnl::pooling_forward::desc(prop_kind::forward_inference, algorithm::pooling_max, src,
                                  activation(dims), {stride, stride}, {kernel, kernel}, {pad, pad},
                                  {pad, pad}),
      with_own_scratchpad(), engine_);
  const int dst = add_memory(pd.dst_desc());
  add_step(dnnl::pooling_forward(pd), {{DNNL_ARG_SRC, use(x.id)}, {DNNL_ARG_DST, memories_[dst]}},
           pd.scratchpad_desc());
  return {dst};
}

Value Plan::upsample2x(Value x) {
  const memory::desc src = desc_of(x);
  memory::dims dims = src.dims();
  dims[2] *= 2;
  dims[3] *= 2;
  const dnnl::resampling_forward::primitive_desc pd(
      dnnl::resampling_forward::desc(prop_kind::forward_inference, algorithm::resampling_nearest,
                                     src, activation(dims)),
      with_own_scratchpad(), engine_);
  const int dst = add_memory(pd.dst_desc());
  add_step(dnnl::resampling_forward(pd),
           {{DNNL_ARG_SRC, use(x.id)}, {DNNL_ARG_DST, memories_[dst]}}, pd.scratchpad_desc());
  return {dst};
}

void Plan::output(Value v) {
  // Channels-last is a strided NCHW tensor to LibTorch and is handed over as it is; a blocked
  // layout has no such view and is reordered to plain NCHW.
  const memory::desc desc = desc_of(v);
  const std::string layout = layout_name(desc);
  const int id =
      layout == "nhwc" || layout == "nchw" ? v.id : in_layout(v, plain_desc(desc.dims()));
  lifetimes_[id].last = std::numeric_limits<size_t>::max();  // read after the last step
  outputs_.push_back(id);
}

void Plan::add_step(dnnl::primitive primitive, Args args, const memory::desc& scratchpad) {
  steps_.push_back({std::move(primitive), std::move(args), scratchpad.get_size()});
}

void Plan::finish() {
  // Largest first, each at the lowest aligned offset clear of every placed activation whose
  // lifetime meets its own.
  std::vector<int> order;
  for (int id = 0; id < static_cast<int>(lifetimes_.size()); ++id) {
    if (id != input_) order.push_back(id);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return lifetimes_[a].bytes > lifetimes_[b].bytes; });
  std::vector<int> placed;
  for (int id : order) {
    Lifetime& me = lifetimes_[id];
    std::vector<std::pair<size_t, size_t>> taken;  // [begin, end) of live neighbours
    for (int other : placed) {
      const Lifetime& o = lifetimes_[other];
      if (o.first <= me.last && me.first <= o.last) taken.push_back({o.offset, o.offset + o.bytes});
    }
    std::sort(taken.begin(), taken.end());
    size_t offset = 0;
    for (const auto& [begin, end] : taken) {
      if (offset + me.bytes <= begin) break;
      offset = std::max(offset, (end + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment);
    }
    me.offset = offset;
    arena_bytes_ = std::max(arena_bytes_, offset + me.bytes);
    placed.push_back(id);
  }
  // One scratch space for every step (they run one after another), after the activations.
  size_t scratchpad_bytes = 0;
  for (const Step& step : steps_)
    scratchpad_bytes = std::max(scratchpad_bytes, step.scratchpad_bytes);
  if (scratchpad_bytes == 0) return;
  scratchpad_offset_ = (arena_bytes_ + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment;
  arena_bytes_ = scratchpad_offset_ + scratchpad_bytes;
  scratchpad_ = memory(
      memory::desc({static_cast<memory::dim>(scratchpad_bytes)}, memory::data_type::u8, Tag::x),
      engine_, nullptr);
  for (Step& step : steps_) {
    if (step.scratchpad_bytes > 0) step.args.emplace(DNNL_ARG_SCRATCHPAD, scratchpad_);
  }
}

std::vector<torch::Tensor> Plan::run(const torch::Tensor& input, void* arena) {
  // oneDNN's OpenMP threads: the count LibTorch set, on this thread too (as its own operators do
  // before each parallel region).
  at::internal::lazy_init_num_threads();
  memories_[input_].set_data_handle(input.data_ptr());
  if (arena != bound_arena_) {
    for (int id = 0; id < static_cast<int>(memories_.size()); ++id) {
      if (id != input_) {
        memories_[id].set_data_handle(static_cast<char*>(arena) + lifetimes_[id].offset);
      }
    }
    if (scratchpad_) scratchpad_.set_data_handle(static_cast<char*>(arena) + scratchpad_offset_);
    bound_arena_ = arena;
  }
  for (auto& step : steps_) step.primitive.execute(stream_, step.args);
  stream_.wait();
  std::vector<torch::Tensor> outputs;
  for (int id : outputs_) {
    const memory::desc desc = memories_[id].get_desc();
    const memory::dims d = desc.dims();
    const std::vector<int64_t> sizes(d.begin(), d.end());
    const auto options = torch::TensorOptions().dtype(torch::kFloat32);
    void* data = memories_[id].get_data_handle();
    const torch::Tensor view =
        layout_name(desc) == "nhwc"
            ? torch::from_blob(data, sizes, {d[1] * d[2] * d[3], 1, d[3] * d[1], d[1]}, options)
            : torch::from_blob(data, sizes, options);
    // A copy: the arena is overwritten by the next run.
    outputs.push_back(view.clone(torch::MemoryFormat::Preserve));
  }
  return outputs;
}

std::string Plan::describe() const {
  size_t total = 0;
  for (int id = 0; id < static_cast<int>(lifetimes_.size()); ++id) {
    if (id != input_) total += lifetimes_[id].bytes;
  }
  const std::string winograd =
      winograd_convolutions_ ? fmt::format(" ({} Winograd)", winograd_convolutions_) : "";
  return fmt::format("{} convolutions{}, activations {} ({:.1f} MB in an arena of {:.1f} MB)",
                     convolutions_, winograd,
                     activation_layout_.empty() ? "plain" : activation_layout_, total / 1e6,
                     arena_bytes_ / 1e6);
}

}  // namespace streaminfer::onednn
