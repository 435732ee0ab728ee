#include "infer/precision_probe_child.h"

#include <c10/core/InferenceMode.h>
#include <sys/resource.h>
#include <torch/nn.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/text.h"
#include "infer/yolov8.h"
#include "infer/yolov8_int8.h"

namespace streaminfer {

namespace {

int fail(const std::string& why) {
  std::printf("streaminfer-probe: error: %s\n", why.c_str());
  return 3;
}

// Calibrated on the input itself, converted, run: every int8 operator the engine uses.
int probe_int8(const YoloV8& model, const torch::Tensor& input, const torch::Tensor& reference) {
  auto int8 = YoloV8Int8::create(model);
  if (!int8) return fail(int8.status().message());
  int8->calibrate(input);
  if (auto converted = int8->convert(); !converted) return fail(converted.message());
  const auto out = int8->forward(input);
  if (out.sizes() != reference.sizes()) return fail("the output has another shape");
  if (!torch::isfinite(out).all().item<bool>()) return fail("the output is not finite");
  const double score_diff = (out.slice(1, 4) - reference.slice(1, 4)).abs().max().item<double>();
  std::printf("streaminfer-probe: ok, max class score difference to fp32 %.5f\n", score_diff);
  return 0;
}

}  // namespace

int run_precision_probe_child(const char* precision) {
  const std::string name = precision;
  torch::ScalarType dtype = torch::kFloat32;
  if (name == "bf16") {
    dtype = torch::kBFloat16;
  } else if (name == "fp16") {
    dtype = torch::kFloat16;
  } else if (name != "fp32" && name != "int8") {
    return fail("unknown precision '" + name + "'");
  }
  // A kernel the CPU cannot run kills this process by design; it should not leave a core file.
  const rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  try {
    at::set_num_threads(1);
    at::manual_seed(0);
    // The real architecture at a small size: the same operators (convolution with and without
    // bias, SiLU, max-pool, nearest upsampling, concat, softmax, sigmoid) as the engine runs.
    YoloV8 model('n', 80);
    model->eval();
    c10::InferenceMode inference_mode;
    // Batch 2: LibTorch 1.13 sends batch-1 float32 3x3 convolutions of this size to its own
    // kernels, not oneDNN, and the fp32 probe would then have no ISA to report.
    const auto input = torch::rand({2, 3, 64, 64});
    const auto reference = model->forward(input);
    std::printf("streaminfer-probe: reference done\n");
    std::fflush(stdout);  // oneDNN's verbose lines go through the same stdout buffer

    // Tests make the child die as a CPU without the kernels would (the parent must survive it).
    if (const char* sig = std::getenv(kProbeTestRaiseEnv); sig != nullptr) {
      std::signal(std::atoi(sig), SIG_DFL);
      std::raise(std::atoi(sig));
    }

    if (auto fused = model->fuse_batch_norm(); !fused) return fail(fused.status().message());
    if (name == "int8") return probe_int8(model, input, reference);
    model->to(dtype);
    const auto contiguous = model->forward(input.to(dtype)).to(torch::kFloat32);
    convert_to_channels_last(*model);
    const auto channels_last =
        model->forward(input.to(dtype).contiguous(torch::MemoryFormat::ChannelsLast))
            .to(torch::kFloat32);
    for (const auto& out : {contiguous, channels_last}) {
      if (out.sizes() != reference.sizes()) return fail("the output has another shape");
      if (!torch::isfinite(out).all().item<bool>()) return fail("the output is not finite");
    }
    // A transformer block's operators too (linear layers, batched matmuls, layer norm, GELU,
    // softmax): --precision auto may run the built-in vit_b_16 in this precision, and its kernels
    // are not the convolutions'.
    const auto weight = (torch::rand({128, 64}) - 0.5).to(dtype);
    const auto bias = torch::rand({128}).to(dtype);
    const auto tokens = torch::layer_norm(torch::rand({2, 17, 64}).to(dtype), {64});
    const auto hidden = torch::gelu(torch::linear(tokens, weight, bias));
    const auto attention = torch::softmax(torch::matmul(hidden, hidden.transpose(1, 2)), -1);
    const auto mixed = torch::matmul(attention, hidden).to(torch::kFloat32);
    if (!torch::isfinite(mixed).all().item<bool>()) {
      return fail("the transformer operators' output is not finite");
    }
    const double score_diff =
        (contiguous.slice(1, 4) - reference.slice(1, 4)).abs().max().item<double>();
    std::printf("streaminfer-probe: ok, max class score difference to fp32 %.5f\n", score_diff);
    return 0;
  } catch (const std::exception& e) {
    return fail(first_line(e.what()));
  }
}

}  // namespace streaminfer
