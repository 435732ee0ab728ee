// The float32 YOLOv8 on oneDNN directly must be the model: each activation layout gives the
// fused model's detections within float rounding, at any batch size, with the plans of several
// shapes sharing one arena; and the backend runs it only where it agreed, as --fp32-kernels says.
#include "infer/yolov8_onednn.h"
#include "infer/resnet_onednn.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <thread>

#include "infer/backend.h"
#include "yolov8_test_models.h"

namespace streaminfer {
namespace {

void expect_detections_match(const torch::Tensor& actual, const torch::Tensor& expected) {
  ASSERT_EQ(actual.sizes(), expected.sizes());
  const double scores = (actual.slice(1, 4) - expected.slice(1, 4)).abs().max().item<double>();
  const double boxes = (actual.slice(1, 0, 4) - expected.slice(1, 0, 4)).abs().max().item<double>();
  EXPECT_LT(scores, 1e-4);
  EXPECT_LT(boxes, 1e-2);  // input pixels, up to about 96 + margin
}

YoloV8 fused_yolov8n(int num_classes) {
  at::manual_seed(0);
  YoloV8 model('n', num_classes);
  randomize_batch_norms(*model);
  model->eval();
  EXPECT_TRUE(model->fuse_batch_norm());
  return model;
}

class YoloV8OneDnnLayouts : public ::testing::TestWithParam<OneDnnLayout> {};

TEST_P(YoloV8OneDnnLayouts, GivesTheModelsDetectionsAtEveryBatchSize) {
  if (!yolov8_onednn_built()) GTEST_SKIP() << "built without oneDNN's headers";
  YoloV8 model = fused_yolov8n(4);
  auto plan = YoloV8OneDnn::create(model, GetParam());
  ASSERT_TRUE(plan) << plan.status().message();
  c10::InferenceMode inference_mode;
  // 96: feature maps of 12, 6 and 3 cells; 3 then 1 then 3 again: a plan per shape, the second
  // 3 reusing its plan after the 1's ran in the shared arena.
  for (int64_t batch : {3, 1, 3}) {
    SCOPED_TRACE(batch);
    const torch::Tensor input = torch::rand({batch, 3, 96, 96});
    expect_detections_match(plan.value()->forward(input), model->forward(input));
  }
  // Kept to 1..2 frames, built now: they still give the model's detections.
  plan.value()->keep_batches(2, 96, 96);
  const torch::Tensor pair = torch::rand({2, 3, 96, 96});
  expect_detections_match(plan.value()->forward(pair), model->forward(pair));
  const std::string described = plan.value()->describe();
  EXPECT_NE(described.find("71 convolutions"), std::string::npos) << described;
  EXPECT_NE(described.find(GetParam() == OneDnnLayout::kChannelsLast ? "nhwc" : "nChw"),
            std::string::npos)
      << described;
  EXPECT_NE(described.find("arena"), std::string::npos) << described;
  EXPECT_NE(described.find("weights"), std::string::npos) << described;
}

INSTANTIATE_TEST_SUITE_P(Layouts, YoloV8OneDnnLayouts,
                         ::testing::Values(OneDnnLayout::kChannelsLast, OneDnnLayout::kBlocked),
                         [](const auto& info) {
                           return info.param == OneDnnLayout::kChannelsLast ? "nhwc" : "blocked";
                         });

TEST(YoloV8OneDnn, AModelWithItsBatchNormStillSeparateIsRefused) {
  YoloV8 model('n', 4);
  model->eval();
  auto plan = YoloV8OneDnn::create(model, OneDnnLayout::kChannelsLast);
  ASSERT_FALSE(plan);
  EXPECT_NE(plan.status().message().find("fold BatchNorm"), std::string::npos)
      << plan.status().message();
}

TEST(ResNetOneDnn, AModelWithItsBatchNormStillSeparateIsRefused) {
  if (!onednn_networks_built()) GTEST_SKIP() << "built without oneDNN's headers";
  ResNet model(18, 10);
  model->eval();
  auto plan = ResNetOneDnn::create(model, OneDnnLayout::kBlocked, true);
  ASSERT_FALSE(plan);
  EXPECT_NE(plan.status().message().find("fold BatchNorm"), std::string::npos)
      << plan.status().message();
}

// Winograd, for every 3x3 stride-1 convolution oneDNN has it for (AVX-512: in the blocked layout,
// and reordered into it from channels-last), measured or not, gives the model's logits; the plan
// says how many ran it.
TEST(ResNetOneDnn, WinogradConvolutionsGiveTheModelsLogits) {
  if (!onednn_networks_built()) GTEST_SKIP() << "built without oneDNN's headers";
  at::manual_seed(3);
  ResNet model(18, 10);
  randomize_batch_norms(*model);
  model->eval();
  ASSERT_TRUE(model->fuse_batch_norm());
  c10::InferenceMode inference_mode;
  const torch::Tensor input = torch::rand({2, 3, 64, 64});
  const torch::Tensor reference = model->forward(input);
  for (OneDnnLayout layout : {OneDnnLayout::kBlocked, OneDnnLayout::kChannelsLast}) {
    for (Winograd winograd : {Winograd::kAlways, Winograd::kWhereFaster, Winograd::kNever}) {
      SCOPED_TRACE(
          fmt::format("{}, Winograd {}", onednn_layout_name(layout), static_cast<int>(winograd)));
      auto plan = ResNetOneDnn::create(model, layout, false, winograd);
      ASSERT_TRUE(plan) << plan.status().message();
      const torch::Tensor logits = plan.value()->forward(input);
      EXPECT_TRUE(torch::allclose(logits, reference, 1e-3, 1e-3))
          << (logits - reference).abs().max().item<float>();
      const std::string described = plan.value()->describe();
      // ResNet-18: 13 of its 16 3x3 convolutions have stride 1 (and channels in 16s); from
      // channels-last, the 5 whose output is not summed into the block's residual (which stays
      // in the plan's layout).
      if (winograd == Winograd::kAlways && __builtin_cpu_supports("avx512f")) {
        const std::string expected = layout == OneDnnLayout::kBlocked
                                         ? "20 convolutions (13 Winograd)"
                                         : "20 convolutions (5 Winograd)";
        EXPECT_NE(described.find(expected), std::string::npos) << described;
      }
      if (winograd == Winograd::kNever) {
        EXPECT_EQ(described.find("Winograd"), std::string::npos) << described;
      }
    }
  }
}

BackendOptions kernels_options(const std::string& model, const std::string& kernels) {
  BackendOptions options;
  options.model = model;
  options.input_size = 64;
  options.threads = 1;
  options.micro_batch = 2;
  options.fp32_kernels = kernels;
  return options;
}

// A backend built on one thread runs its forwards on another (a service builds its new model
// beside the running one, whose inference thread then runs it). oneDNN's own scratch space is
// the creating thread's: Winograd's ran out of bounds there and the process died (SIGSEGV),
// until the plans kept their scratch space in their arena.
TEST(Fp32Kernels, APlanBuiltOnOneThreadRunsOnAnother) {
  if (!onednn_networks_built()) GTEST_SKIP() << "built without oneDNN's headers";
  BackendOptions options = kernels_options("resnet18", "onednn-blocked");
  options.input_size = 224;  // the size and threads of the service's run that died
  options.threads = 2;
  std::unique_ptr<InferenceBackend> backend;
  std::thread builder([&] {
    auto made = create_backend(options);
    if (made) backend = std::move(made.value());
  });
  builder.join();
  ASSERT_TRUE(backend);
  ASSERT_NE(backend->info().description.find("onednn-blocked plan"), std::string::npos)
      << backend->info().description;
  at::manual_seed(1);
  const torch::Tensor input = torch::rand({2, 3, 224, 224});
  auto first = backend->infer(input);
  auto again = backend->infer(input);
  ASSERT_TRUE(first && again);
  EXPECT_TRUE(torch::equal(first.value(), again.value()));
  EXPECT_TRUE(first.value().isfinite().all().item<bool>());
}

// Every choice of kernels gives LibTorch's output (a detector's detections, a classifier's
// logits), names itself on the model line, and auto says what it measured of all five.
class Fp32KernelsChoices : public ::testing::TestWithParam<const char*> {};

TEST_P(Fp32KernelsChoices, EachGivesLibTorchsOutputAndAutoSaysWhatItMeasured) {
  if (!onednn_networks_built()) GTEST_SKIP() << "built without oneDNN's headers";
  const std::string model = GetParam();
  const bool detector = model.starts_with("yolov8");
  at::manual_seed(1);
  const torch::Tensor input = torch::rand({detector ? 3 : 2, 3, 64, 64});
  torch::Tensor reference;
  for (const char* kernels :
       {"libtorch", "libtorch-nhwc", "onednn-nhwc", "onednn-blocked", "auto"}) {
    SCOPED_TRACE(kernels);
    at::manual_seed(7);  // the same random weights in every backend
    auto backend = create_backend(kernels_options(model, kernels));
    ASSERT_TRUE(backend) << backend.status().message();
    const ModelInfo& info = backend.value()->info();
    if (std::string(kernels) == "auto") {
      for (const char* measured :
           {"measured at load", "libtorch ", "libtorch-nhwc ", "onednn-nhwc ", "onednn-blocked "})
        EXPECT_NE(info.fp32_kernels_why.find(measured), std::string::npos) << info.fp32_kernels_why;
    } else {
      EXPECT_EQ(info.fp32_kernels, kernels);
      EXPECT_EQ(info.fp32_kernels_why, "set");
    }
    // The plan that runs is named on the model line.
    EXPECT_EQ(info.description.find(" plan: ") != std::string::npos,
              info.fp32_kernels.starts_with("onednn"))
        << info.description;
    EXPECT_EQ(info.description.find(", channels-last") != std::string::npos,
              info.fp32_kernels == "libtorch-nhwc")
        << info.description;
    auto output = backend.value()->infer(input);
    ASSERT_TRUE(output) << output.status().message();
    if (!reference.defined()) {
      reference = output.value();
    } else if (detector) {
      expect_detections_match(output.value(), reference);
    } else {
      EXPECT_TRUE(torch::allclose(output.value(), reference, 1e-3, 1e-3))
          << (output.value() - reference).abs().max().item<float>();
    }
  }
}

// The detector's plans (yolov8_onednn.h) and a ResNet's (resnet_onednn.h).
INSTANTIATE_TEST_SUITE_P(Models, Fp32KernelsChoices, ::testing::Values("yolov8n", "resnet18"),
                         [](const auto& info) { return std::string(info.param); });

// Where no plan can run (here a split model, whose two parts LibTorch runs), auto times LibTorch
// in both layouts and says why no plan ran; naming a plan is refused.
TEST(Fp32Kernels, AModelWithoutAPlanRunsLibTorchUnderAutoAndIsRefusedByName) {
  BackendOptions split = kernels_options("yolov8n", "auto");
  split.split_point = "model.9";
  auto automatic = create_backend(split);
  ASSERT_TRUE(automatic) << automatic.status().message();
  const ModelInfo& info = automatic.value()->info();
  EXPECT_TRUE(info.fp32_kernels == "libtorch" || info.fp32_kernels == "libtorch-nhwc")
      << info.fp32_kernels;
  for (const char* said : {"measured at load", "libtorch ", "libtorch-nhwc ", "--split-point"})
    EXPECT_NE(info.fp32_kernels_why.find(said), std::string::npos) << info.fp32_kernels_why;

  split.fp32_kernels = "onednn-nhwc";
  auto named = create_backend(split);
  ASSERT_FALSE(named);
  EXPECT_NE(named.status().message().find("--fp32-kernels onednn-nhwc"), std::string::npos)
      << named.status().message();

  auto unknown = create_backend(kernels_options("yolov8n", "fast"));
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.status().message().find("--fp32-kernels fast: unknown"), std::string::npos)
      << unknown.status().message();
}

}  // namespace
}  // namespace streaminfer
