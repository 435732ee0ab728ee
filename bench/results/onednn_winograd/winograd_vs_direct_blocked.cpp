#include <algorithm>
#include <chrono>
#include <cstdio>
#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>
#include <vector>
using namespace dnnl;
using tag = memory::format_tag;
int main(int argc, char** argv) {
  engine eng(engine::kind::cpu, 0);
  stream s(eng);
  struct Shape {
    int c, hw;
  };
  std::vector<Shape> shapes = {{64, 56}, {128, 28}, {256, 14}, {512, 7}};
  for (int mb : {1, 4})
    for (auto sh : shapes) {
      double t[2] = {1e9, 1e9};
      primitive prims[2];
      std::unordered_map<int, memory> argv2[2];
      const char* impl[2] = {"", ""};
      std::string names[2];
      for (int a = 0; a < 2; ++a) {
        memory::dims src{mb, sh.c, sh.hw, sh.hw}, w{sh.c, sh.c, 3, 3}, dst = src;
        auto alg = a == 0 ? algorithm::convolution_direct : algorithm::convolution_winograd;
        post_ops ops;
        ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
        primitive_attr attr;
        attr.set_post_ops(ops);
        convolution_forward::primitive_desc pd;
        try {
          pd = convolution_forward::primitive_desc(
              convolution_forward::desc(prop_kind::forward_inference, alg,
                                        memory::desc(src, memory::data_type::f32, tag::nChw16c),
                                        memory::desc(w, memory::data_type::f32, tag::any),
                                        memory::desc({sh.c}, memory::data_type::f32, tag::x),
                                        memory::desc(dst, memory::data_type::f32, tag::nChw16c),
                                        {1, 1}, {1, 1}, {1, 1}),
              attr, eng);
        } catch (dnnl::error& e) {
          names[a] = std::string("none: ") + e.what();
          continue;
        }
        names[a] = pd.impl_info_str();
        memory S(pd.src_desc(), eng), W(pd.weights_desc(), eng), B(pd.bias_desc(), eng),
            D(pd.dst_desc(), eng);
        float* p = (float*)S.get_data_handle();
        for (size_t i = 0; i < pd.src_desc().get_size() / 4; ++i) p[i] = (i % 7) * 0.1f;
        p = (float*)W.get_data_handle();
        for (size_t i = 0; i < pd.weights_desc().get_size() / 4; ++i) p[i] = (i % 5) * 0.01f;
        convolution_forward c(pd);
        std::unordered_map<int, memory> args{
            {DNNL_ARG_SRC, S}, {DNNL_ARG_WEIGHTS, W}, {DNNL_ARG_BIAS, B}, {DNNL_ARG_DST, D}};
        prims[a] = c;
        argv2[a] = args;
      }
      for (int a = 0; a < 2; ++a)
        if (prims[a]) {
          for (int i = 0; i < 3; ++i) prims[a].execute(s, argv2[a]);
          s.wait();
        }
      for (int i = 0; i < 40; ++i)
        for (int a = 0; a < 2; ++a)
          if (prims[a]) {
            auto t0 = std::chrono::steady_clock::now();
            prims[a].execute(s, argv2[a]);
            s.wait();
            t[a] = std::min(t[a], std::chrono::duration<double, std::milli>(
                                      std::chrono::steady_clock::now() - t0)
                                      .count());
          }
      std::printf("mb %d c %d hw %d: direct %.3f ms (%s)  wino %.3f ms (%s)\n", mb, sh.c, sh.hw,
                  t[0], names[0].c_str(), t[1], names[1].c_str());
    }
}
