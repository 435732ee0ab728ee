// The int8 YOLOv8: the quantized building blocks against float32, and the bundled detector's
// accuracy in int8 against its own float32 accuracy on held-out synthetic scenes.
#include "infer/yolov8_int8.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "infer/model_zoo.h"
#include "infer/quantized_ops.h"
#include "infer/resnet_int8.h"
#include "infer/weights_file.h"
#include "train/detector_validation.h"

namespace streaminfer {
namespace {

TEST(QuantizedOps, ParamsCoverTheRangeAndZero) {
  const auto p = int8::params_for_range(-1.0f, 3.0f);
  EXPECT_NEAR(p.scale, 4.0 / 255, 1e-9);
  EXPECT_NEAR(p.scale * (0 - p.zero_point), -1.0, p.scale);
  EXPECT_NEAR(p.scale * (255 - p.zero_point), 3.0, p.scale);
  // All positive: zero is still representable, exactly.
  EXPECT_EQ(int8::params_for_range(0.5f, 2.0f).zero_point, 0);
  EXPECT_GT(int8::params_for_range(0.0f, 0.0f).scale, 0.0);
}

TEST(QuantizedOps, SiluTableMatchesSiluToHalfAnOutputStep) {
  const int8::QuantParams in = int8::params_for_range(-8.0f, 8.0f);
  const int8::QuantParams out = int8::params_for_range(-0.3f, 8.0f);
  const auto table = int8::silu_table(in, out);
  for (int code = 0; code < 256; ++code) {
    const double x = in.scale * (code - in.zero_point);
    const double expected = x / (1 + std::exp(-x));
    const double got = out.scale * (table[code] - out.zero_point);
    EXPECT_NEAR(got, expected, out.scale / 2 + 1e-9) << "code " << code;
  }
}

TEST(QuantizedOps, ApplyTableMapsEveryElementAndKeepsTheLayout) {
  ASSERT_FALSE(int8::select_quantized_engine().empty());
  const auto x = torch::rand({2, 8, 5, 7}).contiguous(torch::MemoryFormat::ChannelsLast);
  const auto q = int8::quantize(x, int8::params_for_range(0, 1));
  int8::CodeTable reverse{};
  for (int c = 0; c < 256; ++c) reverse[c] = static_cast<uint8_t>(255 - c);
  const auto y = int8::apply_table(q, reverse, {1.0, 0});
  EXPECT_TRUE(y.is_contiguous(torch::MemoryFormat::ChannelsLast));
  EXPECT_TRUE(torch::equal(y.int_repr().to(torch::kInt), 255 - q.int_repr().to(torch::kInt)));
}

TEST(QuantizedOps, Int8ConvolutionIsCloseToFloat32) {
  ASSERT_FALSE(int8::select_quantized_engine().empty());
  at::manual_seed(0);
  const auto x = torch::rand({2, 16, 20, 20});
  const auto w = torch::randn({24, 16, 3, 3}) * 0.1;
  const auto b = torch::randn({24}) * 0.1;
  const auto reference = torch::conv2d(x, w, b, 2, 1);
  const auto out =
      int8::params_for_range(reference.min().item<float>(), reference.max().item<float>());
  const auto packed = int8::pack_conv(w, b, 2, 1);
  const auto y = int8::conv(int8::quantize(x, int8::params_for_range(0, 1)), packed, out);
  ASSERT_EQ(y.sizes(), reference.sizes());
  // Input and weights rounded to 8 bits over 144 products: a few output steps at most.
  EXPECT_LT((y.dequantize() - reference).abs().max().item<double>(), 4 * out.scale);
}

TEST(CodeLookup, TheVectorizedPathMatchesTheScalarOneAtEveryLength) {
  int8::CodeTable table{};
  for (int c = 0; c < 256; ++c) table[c] = static_cast<uint8_t>((c * 37 + 11) % 256);
  std::vector<uint8_t> from(1000);
  for (size_t i = 0; i < from.size(); ++i) from[i] = static_cast<uint8_t>((i * 101 + 7) % 256);
  for (int64_t count : {0, 1, 63, 64, 65, 127, 128, 1000}) {
    std::vector<uint8_t> fast(count + 1, 0xAA), slow(count + 1, 0xAA);
    int8::lookup_codes(from.data(), fast.data(), count, table);
    int8::lookup_codes_scalar(from.data(), slow.data(), count, table);
    EXPECT_EQ(fast, slow) << "count " << count;
    EXPECT_EQ(fast[count], 0xAA) << "wrote past the end";
  }
  if (!int8::lookup_codes_vectorized()) GTEST_SKIP() << "no AVX-512 VBMI: only the scalar path ran";
}

TEST(YoloV8Int8, RefusesAModelWhoseBatchNormIsNotFolded) {
  YoloV8 model('n', 4);
  model->eval();
  auto int8 = YoloV8Int8::create(model);
  ASSERT_FALSE(int8);
  EXPECT_NE(int8.status().message().find("BatchNorm"), std::string::npos);
}

TEST(YoloV8Int8, CalibratingIsTheFloat32ForwardAndConvertNeedsIt) {
  at::manual_seed(0);
  YoloV8 model('n', 4);
  model->eval();
  ASSERT_TRUE(model->fuse_batch_norm());
  auto int8 = YoloV8Int8::create(model);
  ASSERT_TRUE(int8) << int8.status().message();
  EXPECT_FALSE(int8->convert());
  torch::NoGradGuard no_grad;
  const auto x = torch::rand({2, 3, 64, 64});
  EXPECT_TRUE(torch::allclose(int8->calibrate(x), model->forward(x), 1e-4, 1e-4));
  EXPECT_EQ(int8->calibration_images(), 2);
  ASSERT_TRUE(int8->convert());
  const auto y = int8->forward(x);
  EXPECT_EQ(y.sizes(), model->forward(x).sizes());
  EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
  EXPECT_NE(int8->describe().find("63 int8 convolutions"), std::string::npos) << int8->describe();
}

// The accuracy cost that matters: the bundled detector, calibrated on 16 scenes of the
// calibration seeds, against its own float32 mAP on 24 held-out scenes (144 objects; few enough
// for the sanitizer builds, where the model runs 20-100x slower).
TEST(YoloV8Int8, TheBundledDetectorLosesLittleMapInInt8) {
  const BuiltinSpec* spec = find_builtin(kDefaultModel);
  ASSERT_NE(spec, nullptr);
  auto weights = weights_to_load(*spec, "");
  ASSERT_TRUE(weights) << weights.status().message();
  YoloV8 model('n', 4);
  ASSERT_TRUE(load_weights(*model, *weights));
  model->eval();
  ASSERT_TRUE(model->fuse_batch_norm());
  auto int8 = YoloV8Int8::create(model);
  ASSERT_TRUE(int8);
  const int size = spec->default_input_size;
  std::vector<SceneSpec> calibration, held_out;
  for (uint32_t i = 0; i < 16; ++i) calibration.push_back({640, 360, 6, 600000 + i, 0});
  for (uint32_t i = 0; i < 24; ++i) held_out.push_back({640, 360, 6, 7 + i % 3, 30 * i});
  auto images = render_scenes(calibration, size);
  ASSERT_TRUE(images);
  torch::NoGradGuard no_grad;
  for (int64_t start = 0; start < 16; start += 8)
    int8->calibrate(images->images.narrow(0, start, 8));
  ASSERT_TRUE(int8->convert());
  auto fp32 = validate_detector(model, held_out, size, 8);
  auto quantized = validate_detector([&](const torch::Tensor& x) { return int8->forward(x); }, 4,
                                     held_out, size, 8);
  ASSERT_TRUE(fp32 && quantized);
  EXPECT_GT(fp32->map50, 0.9);
  EXPECT_GT(quantized->map50, fp32->map50 - 0.02)
      << "fp32 " << fp32->map50 << ", int8 " << quantized->map50;
  std::printf("mAP@0.5 fp32 %.4f int8 %.4f; mAP@0.5:0.95 fp32 %.4f int8 %.4f\n", fp32->map50,
              quantized->map50, fp32->map50_95, quantized->map50_95);
}

// ResNet-18 in int8 against its own float32 logits on synthetic scenes (random weights: the
// same top-1 class on most images, logits close relative to their spread).
TEST(ResNetInt8, Int8LogitsFollowTheFloat32Ones) {
  at::manual_seed(0);
  ResNet model(18, 10);
  model->eval();
  ASSERT_TRUE(model->fuse_batch_norm());
  auto int8 = ResNetInt8::create(model);
  ASSERT_TRUE(int8) << int8.status().message();
  std::vector<SceneSpec> calibration, held_out;
  for (uint32_t i = 0; i < 8; ++i) calibration.push_back({640, 360, 6, 600000 + i, 0});
  for (uint32_t i = 0; i < 8; ++i) held_out.push_back({640, 360, 6, 7 + i, 0});
  auto images = render_scenes(calibration, 96);
  auto test_images = render_scenes(held_out, 96);
  ASSERT_TRUE(images && test_images);
  torch::NoGradGuard no_grad;
  const auto reference = int8->calibrate(test_images->images);
  int8->calibrate(images->images);
  ASSERT_TRUE(int8->convert());
  EXPECT_NE(int8->describe().find("20 int8 convolutions"), std::string::npos) << int8->describe();
  const auto logits = int8->forward(test_images->images);
  ASSERT_EQ(logits.sizes(), reference.sizes());
  const double spread = reference.std().item<double>();
  const double error = (logits - reference).abs().mean().item<double>();
  EXPECT_LT(error, 0.2 * spread) << "mean |int8 - fp32| " << error << ", logit spread " << spread;
  const auto agree = (logits.argmax(1) == reference.argmax(1)).to(torch::kFloat).mean();
  EXPECT_GE(agree.item<double>(), 0.75);
}

}  // namespace
}  // namespace streaminfer
