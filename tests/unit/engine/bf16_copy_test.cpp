// --precision auto's bfloat16 candidate: timed only where the probe ran bf16 on the CPU's own
// instructions, and a copy of the built-in model that says what the model says.
#include "infer/bf16_copy.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "infer/model_zoo.h"
#include "infer/precision_probe.h"

namespace streaminfer {
namespace {

PrecisionProbe ran_on(const std::string& conv_impl) {
  PrecisionProbe probe;
  probe.precision = "bf16";
  probe.available = true;
  probe.conv_impl = conv_impl;
  return probe;
}

TEST(Bf16Copy, NativeBf16MeansKernelsOfTheCpusOwnBf16OrAmx) {
  // What the probe read off oneDNN's verbose log on an AMD EPYC (AVX-512 BF16).
  EXPECT_TRUE(native_bf16(ran_on("jit_bf16:avx512_core_bf16 brgconv_1x1:avx512_core_bf16")));
  EXPECT_TRUE(native_bf16(ran_on("brg:avx512_core_amx")));
  EXPECT_TRUE(native_bf16(ran_on("jit:avx512_core brgconv:avx512_core_amx_fp16")));
  // oneDNN's emulation on plain AVX-512, a reference kernel, nothing seen: not timed.
  EXPECT_FALSE(native_bf16(ran_on("jit_bf16:avx512_core jit_bf16_1x1:avx512_core")));
  EXPECT_FALSE(native_bf16(ran_on("ref:any gemm:jit")));
  EXPECT_FALSE(native_bf16(ran_on("")));
  PrecisionProbe died = ran_on("jit_bf16:avx512_core_bf16");
  died.available = false;
  EXPECT_FALSE(native_bf16(died));
}

TEST(Bf16Copy, TheCopyRunsTheModelsWeightsInBf16) {
  // A bf16 convolution may kill a process with SIGILL where the CPU cannot run oneDNN's kernel:
  // the child-process probe says first.
  if (!probe_precision("bf16").available) GTEST_SKIP() << "bf16 cannot run on this CPU";
  auto made = make_builtin_model("resnet18", 10);
  ASSERT_TRUE(made) << made.status().message();
  BuiltinModel fp32 = std::move(made.value());
  fp32.module->eval();
  ASSERT_TRUE(fp32.fuse_batch_norm());
  auto copy = make_bf16_copy("resnet18", 10, fp32, /*fold_batch_norm=*/true);
  ASSERT_TRUE(copy) << copy.status().message();
  for (const auto& p : copy->module->parameters()) EXPECT_EQ(p.scalar_type(), torch::kBFloat16);

  torch::manual_seed(7);
  const auto input = torch::rand({2, 3, 64, 64});
  c10::InferenceMode inference_mode;
  const auto reference = fp32.forward(input);
  const auto output =
      copy->forward(input.to(torch::kBFloat16).contiguous(torch::MemoryFormat::ChannelsLast))
          .to(torch::kFloat32);
  ASSERT_EQ(output.sizes(), reference.sizes());
  // bfloat16 keeps 8 bits of mantissa: within a few percent of the logits' range, and the same
  // model (another random initialization would differ by the whole range).
  const double range = (reference.max() - reference.min()).item<double>();
  EXPECT_LT((output - reference).abs().max().item<double>(), 0.05 * range);
}

TEST(Bf16Copy, AnotherArchitectureIsRefusedWithWhatDiffers) {
  auto made = make_builtin_model("resnet18", 10);
  ASSERT_TRUE(made) << made.status().message();
  auto copy = make_bf16_copy("resnet18", 5, made.value(), /*fold_batch_norm=*/false);
  ASSERT_FALSE(copy);
  EXPECT_NE(copy.status().message().find("does not match"), std::string::npos)
      << copy.status().message();
}

}  // namespace
}  // namespace streaminfer
