#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>
#include <vector>
using namespace dnnl;
using tag = memory::format_tag;
static double timeit(const std::vector<std::pair<primitive, std::unordered_map<int, memory>>>& ps,
                     stream& s) {
  double best = 1e9;
  for (int r = 0; r < 40; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    for (auto& [p, a] : ps) p.execute(s, a);
    s.wait();
    best = std::min(
        best,
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}
static memory zeroed(const memory::desc& d, engine& e) {
  memory m(d, e);
  std::memset(m.get_data_handle(), 0, d.get_size());
  return m;
}
int main() {
  engine eng(engine::kind::cpu, 0);
  stream s(eng);
  struct Shape {
    int c, hw;
  };
  for (int mb : {1, 4})
    for (Shape sh : {Shape{64, 56}, {128, 28}, {256, 14}, {512, 7}}) {
      memory::dims src{mb, sh.c, sh.hw, sh.hw}, w{sh.c, sh.c, 3, 3};
      post_ops ops;
      ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
      primitive_attr attr;
      attr.set_post_ops(ops);
      auto mk = [&](algorithm alg, tag t) {
        return convolution_forward::primitive_desc(
            convolution_forward::desc(
                prop_kind::forward_inference, alg, memory::desc(src, memory::data_type::f32, t),
                memory::desc(w, memory::data_type::f32, tag::any),
                memory::desc({sh.c}, memory::data_type::f32, tag::x),
                memory::desc(src, memory::data_type::f32, t), {1, 1}, {1, 1}, {1, 1}),
            attr, eng);
      };
      auto nhwc = mk(algorithm::convolution_direct, tag::nhwc);
      auto wino = mk(algorithm::convolution_winograd, tag::nChw16c);
      auto args = [&](const convolution_forward::primitive_desc& pd) {
        return std::unordered_map<int, memory>{{DNNL_ARG_SRC, zeroed(pd.src_desc(), eng)},
                                               {DNNL_ARG_WEIGHTS, zeroed(pd.weights_desc(), eng)},
                                               {DNNL_ARG_BIAS, zeroed(pd.bias_desc(), eng)},
                                               {DNNL_ARG_DST, zeroed(pd.dst_desc(), eng)}};
      };
      auto a_n = args(nhwc), a_w = args(wino);
      memory in_nhwc = zeroed(nhwc.src_desc(), eng), out_nhwc = zeroed(nhwc.dst_desc(), eng);
      reorder r_in(in_nhwc, a_w[DNNL_ARG_SRC]), r_out(a_w[DNNL_ARG_DST], out_nhwc);
      double t_n = timeit({{convolution_forward(nhwc), a_n}}, s);
      double t_w = timeit({{convolution_forward(wino), a_w}}, s);
      double t_wr = timeit({{r_in, {{DNNL_ARG_FROM, in_nhwc}, {DNNL_ARG_TO, a_w[DNNL_ARG_SRC]}}},
                            {convolution_forward(wino), a_w},
                            {r_out, {{DNNL_ARG_FROM, a_w[DNNL_ARG_DST]}, {DNNL_ARG_TO, out_nhwc}}}},
                           s);
      std::printf(
          "mb %d c %3d hw %2d: nhwc direct %.3f (%s) | wino %.3f | reorder+wino+reorder %.3f\n", mb,
          sh.c, sh.hw, t_n, nhwc.impl_info_str(), t_w, t_wr);
    }
}
