// Does a oneDNN convolution run slower with its scratch space given by the caller
// (scratchpad_mode::user, what streaminfer's plans use since 2026-12-08: a plan built on one
// thread then runs on another) than with the library's own (the default)? Direct and Winograd
// 3x3 convolutions with ReLU in the blocked layout, ResNet's shapes; the two modes take turns,
// best of 40 runs each.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>
#include <vector>
using namespace dnnl;
using tag = memory::format_tag;

int main() {
  engine eng(engine::kind::cpu, 0);
  stream s(eng);
  struct Shape {
    int c, hw;
  };
  const std::vector<Shape> shapes = {{64, 56}, {128, 28}, {256, 14}, {512, 7}};
  for (int mb : {1, 4})
    for (auto alg : {algorithm::convolution_direct, algorithm::convolution_winograd})
      for (auto sh : shapes) {
        double t[2] = {1e9, 1e9};
        primitive prims[2];
        std::unordered_map<int, memory> args[2];
        std::string impl;
        size_t scratch = 0;
        for (int mode = 0; mode < 2; ++mode) {
          memory::dims src{mb, sh.c, sh.hw, sh.hw}, w{sh.c, sh.c, 3, 3};
          post_ops ops;
          ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
          primitive_attr attr;
          attr.set_post_ops(ops);
          if (mode == 1) attr.set_scratchpad_mode(scratchpad_mode::user);
          convolution_forward::primitive_desc pd;
          try {
            pd = convolution_forward::primitive_desc(
                convolution_forward::desc(prop_kind::forward_inference, alg,
                                          memory::desc(src, memory::data_type::f32, tag::nChw16c),
                                          memory::desc(w, memory::data_type::f32, tag::any),
                                          memory::desc({sh.c}, memory::data_type::f32, tag::x),
                                          memory::desc(src, memory::data_type::f32, tag::nChw16c),
                                          {1, 1}, {1, 1}, {1, 1}),
                attr, eng);
          } catch (dnnl::error&) {
            continue;
          }
          impl = pd.impl_info_str();
          memory S(pd.src_desc(), eng), W(pd.weights_desc(), eng), B(pd.bias_desc(), eng),
              D(pd.dst_desc(), eng);
          float* p = static_cast<float*>(S.get_data_handle());
          for (size_t i = 0; i < pd.src_desc().get_size() / 4; ++i) p[i] = (i % 7) * 0.1f;
          p = static_cast<float*>(W.get_data_handle());
          for (size_t i = 0; i < pd.weights_desc().get_size() / 4; ++i) p[i] = (i % 5) * 0.01f;
          args[mode] = {
              {DNNL_ARG_SRC, S}, {DNNL_ARG_WEIGHTS, W}, {DNNL_ARG_BIAS, B}, {DNNL_ARG_DST, D}};
          if (mode == 1) {
            scratch = pd.scratchpad_desc().get_size();
            if (scratch > 0) args[mode][DNNL_ARG_SCRATCHPAD] = memory(pd.scratchpad_desc(), eng);
          }
          prims[mode] = convolution_forward(pd);
        }
        if (!prims[0] || !prims[1]) continue;
        for (int i = 0; i < 3; ++i)
          for (int mode = 0; mode < 2; ++mode) prims[mode].execute(s, args[mode]);
        s.wait();
        for (int i = 0; i < 40; ++i)
          for (int mode = 0; mode < 2; ++mode) {
            const auto t0 = std::chrono::steady_clock::now();
            prims[mode].execute(s, args[mode]);
            s.wait();
            t[mode] = std::min(t[mode], std::chrono::duration<double, std::milli>(
                                            std::chrono::steady_clock::now() - t0)
                                            .count());
          }
        std::printf(
            "mb %d c %3d hw %2d %-36s library %.3f ms  user %.3f ms  (user/library %.3f, "
            "scratch %.1f MB)\n",
            mb, sh.c, sh.hw, impl.c_str(), t[0], t[1], t[1] / t[0], scratch / 1e6);
      }
}
