// The built-in architectures against their published figures: parameter counts (torchvision's
// and Ultralytics' own reports), output shapes, and torchvision's parameter names, by which
// PyTorch weights load.
#include <gtest/gtest.h>

#include "infer/resnet.h"
#include "infer/vit.h"
#include "infer/yolov8.h"

namespace streaminfer {
namespace {

int64_t parameter_count(const torch::nn::Module& module) {
  int64_t total = 0;
  for (const auto& p : module.parameters()) total += p.numel();
  return total;
}

torch::Tensor eval_forward(torch::nn::Module& module,
                           const std::function<torch::Tensor()>& forward) {
  module.eval();
  c10::InferenceMode inference_mode;
  return forward();
}

TEST(ModelZoo, ResNet18MatchesTorchvision) {
  ResNet model(18, 1000);
  EXPECT_EQ(parameter_count(*model), 11689512);  // torchvision.models.resnet18()
  auto out = eval_forward(*model, [&] { return model->forward(torch::rand({2, 3, 64, 64})); });
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{2, 1000}));
}

TEST(ModelZoo, ResNet50MatchesTorchvision) {
  ResNet model(50, 1000);
  EXPECT_EQ(parameter_count(*model), 25557032);  // torchvision.models.resnet50()
  auto out = eval_forward(*model, [&] { return model->forward(torch::rand({1, 3, 64, 64})); });
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{1, 1000}));
}

TEST(ModelZoo, VitB16MatchesTorchvision) {
  VisionTransformer model(1000);
  EXPECT_EQ(parameter_count(*model), 86567656);  // torchvision.models.vit_b_16()
  // A forward at 224 under AddressSanitizer takes seconds: the shape is checked on a 32x32 build
  // (2x2 patches + class token) whose only difference is the position embedding's length.
  VisionTransformer small(10, 32);
  EXPECT_EQ(parameter_count(*model) - parameter_count(*small),
            (197 - 5) * 768 + (1000 - 10) * (768 + 1));
  auto out = eval_forward(*small, [&] { return small->forward(torch::rand({2, 3, 32, 32})); });
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{2, 10}));
}

TEST(ModelZoo, ClassCountSetsTheHead) {
  ResNet model(18, 7);
  const auto params = model->named_parameters(true);
  EXPECT_EQ(params.find("fc.weight")->sizes(), (std::vector<int64_t>{7, 512}));
  auto out = eval_forward(*model, [&] { return model->forward(torch::rand({3, 3, 32, 32})); });
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{3, 7}));
}

TEST(ModelZoo, YoloV8ShapesMatchUltralytics) {
  // Counts for 80 classes as Ultralytics reports them (also in yolov8_test.cpp).
  YoloV8 nano('n', 80);
  EXPECT_EQ(parameter_count(*nano), 3157200);
  YoloV8 small('s', 80);
  EXPECT_EQ(parameter_count(*small), 11166560);
  auto out = eval_forward(*nano, [&] { return nano->forward(torch::rand({1, 3, 64, 64})); });
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{1, 84, 8 * 8 + 4 * 4 + 2 * 2}));
}

TEST(ModelZoo, ParameterNamesAreTorchvisions) {
  ResNet r18(18, 1000);
  const auto p18 = r18->named_parameters(true);
  for (const char* name :
       {"conv1.weight", "bn1.weight", "layer1.0.conv1.weight", "layer1.1.bn2.bias",
        "layer2.0.downsample.0.weight", "layer4.1.conv2.weight", "fc.weight", "fc.bias"}) {
    EXPECT_NE(p18.find(name), nullptr) << name;
  }
  EXPECT_EQ(p18.find("layer1.0.downsample.0.weight"), nullptr) << "64 -> 64: no projection";
  const auto b18 = r18->named_buffers(true);
  for (const char* name : {"bn1.running_mean", "layer3.0.downsample.1.running_var",
                           "layer1.0.bn1.num_batches_tracked"}) {
    EXPECT_NE(b18.find(name), nullptr) << name;
  }
  ResNet r50(50, 1000);
  const auto p50 = r50->named_parameters(true);
  for (const char* name : {"layer1.0.downsample.0.weight", "layer1.0.conv3.weight",
                           "layer3.5.bn3.weight", "layer4.2.conv3.weight"}) {
    EXPECT_NE(p50.find(name), nullptr) << name;
  }
  VisionTransformer vit(10, 32);
  const auto pv = vit->named_parameters(true);
  for (const char* name :
       {"class_token", "conv_proj.weight", "conv_proj.bias", "encoder.pos_embedding",
        "encoder.layers.encoder_layer_0.ln_1.weight",
        "encoder.layers.encoder_layer_0.self_attention.in_proj_weight",
        "encoder.layers.encoder_layer_0.self_attention.in_proj_bias",
        "encoder.layers.encoder_layer_0.self_attention.out_proj.weight",
        "encoder.layers.encoder_layer_11.ln_2.bias", "encoder.layers.encoder_layer_11.mlp.0.weight",
        "encoder.layers.encoder_layer_11.mlp.3.bias", "encoder.ln.weight", "heads.head.weight",
        "heads.head.bias"}) {
    EXPECT_NE(pv.find(name), nullptr) << name;
  }
  EXPECT_EQ(pv.find("encoder.layers.encoder_layer_0.self_attention.in_proj_weight")->sizes(),
            (std::vector<int64_t>{3 * 768, 768}));
}

// Fresh BatchNorm layers are the identity and would fold into nothing: give them statistics.
void randomize_resnet_batch_norms(torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  at::manual_seed(3);
  for (auto& item : model.named_buffers(true)) {
    auto& t = item.value();
    if (item.key().ends_with("running_mean")) t.copy_(torch::rand(t.sizes()) - 0.5);
    if (item.key().ends_with("running_var")) t.copy_(torch::rand(t.sizes()) + 0.5);
  }
  for (auto& item : model.named_parameters(true)) {
    auto& t = item.value();
    if (item.key().find("bn") != std::string::npos || item.key().ends_with("downsample.1.weight"))
      t.copy_(torch::rand(t.sizes()) + 0.5);
  }
}

TEST(ModelZoo, ResNetFusedBatchNormGivesTheSameOutput) {
  at::manual_seed(0);
  ResNet model(18, 10);
  randomize_resnet_batch_norms(*model);
  model->eval();
  c10::InferenceMode inference_mode;
  const auto input = torch::rand({2, 3, 64, 64});
  const auto reference = model->forward(input);
  auto fused = model->fuse_batch_norm();
  ASSERT_TRUE(fused) << fused.status().message();
  EXPECT_EQ(fused.value(), 1 + 8 * 2 + 3);  // stem, 8 blocks of 2, 3 projections
  const auto out = model->forward(input);
  const double scale = reference.abs().max().item<double>();
  EXPECT_LT((out - reference).abs().max().item<double>(), 1e-4 * (1 + scale));
  EXPECT_EQ(model->fuse_batch_norm().value(), 0) << "fusing twice folds nothing more";
}

}  // namespace
}  // namespace streaminfer
