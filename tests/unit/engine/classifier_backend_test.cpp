// The built-in classifiers behind the backend interface: their defaults (224 input, 1000 classes
// named class_N), ImageNet normalization inside the forward, and the errors of bad options.
#include <gtest/gtest.h>
#include <torch/types.h>
#include <unistd.h>

#include <filesystem>

#include "infer/backend.h"
#include "infer/resnet.h"
#include "infer/weights_file.h"

namespace streaminfer {
namespace {

BackendOptions classifier_options(const std::string& model, int input_size) {
  BackendOptions options;
  options.model = model;
  options.input_size = input_size;
  options.threads = 1;
  options.micro_batch = 1;  // not measured: that is 42 forwards
  return options;
}

TEST(ClassifierBackend, ResNet18DefaultsToImageNetShapes) {
  auto backend = create_backend(classifier_options("resnet18", 0));
  ASSERT_TRUE(backend) << backend.status().message();
  const ModelInfo& info = backend.value()->info();
  EXPECT_EQ(info.task, ModelTask::kClassify);
  EXPECT_EQ(info.input_width, 224);
  EXPECT_EQ(info.input_height, 224);
  EXPECT_EQ(info.num_classes, 1000);
  ASSERT_EQ(info.labels.size(), 1000u);
  EXPECT_EQ(info.labels[3], "class_3") << "no invented ImageNet names";
  EXPECT_EQ(info.num_parameters, 11689512);
  EXPECT_NE(info.description.find("classifier"), std::string::npos) << info.description;
}

TEST(ClassifierBackend, NormalizesInsideTheForwardWithLoadedWeights) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("streaminfer_classifier_" + std::to_string(::getpid()) + ".pt"))
                               .string();
  at::manual_seed(5);
  ResNet reference(18, 1000);
  reference->eval();
  ASSERT_TRUE(save_weights(*reference, path).is_ok());
  auto options = classifier_options("resnet18", 64);
  options.weights = path;
  auto backend = create_backend(options);
  std::filesystem::remove(path);
  ASSERT_TRUE(backend) << backend.status().message();
  EXPECT_FALSE(backend.value()->info().random_weights);
  EXPECT_EQ(backend.value()->info().input_width, 64) << "--imgsz is kept when given";

  const auto input = torch::rand({2, 3, 64, 64});  // [0, 1], as preprocessing delivers it
  auto out = backend.value()->infer(input);
  ASSERT_TRUE(out) << out.status().message();
  ASSERT_EQ(out.value().sizes(), (std::vector<int64_t>{2, 1000}));
  c10::InferenceMode inference_mode;
  const auto mean = torch::tensor({0.485f, 0.456f, 0.406f}).view({1, 3, 1, 1});
  const auto std = torch::tensor({0.229f, 0.224f, 0.225f}).view({1, 3, 1, 1});
  const auto expected = reference->forward((input - mean) / std);
  EXPECT_LT((out.value() - expected).abs().max().item<double>(), 1e-4);
  // Without the normalization the output would be far off: the test can fail.
  EXPECT_GT((reference->forward(input) - expected).abs().max().item<double>(), 1e-2);
}

TEST(ClassifierBackend, VitRejectsAnotherInputSize) {
  auto backend = create_backend(classifier_options("vit_b_16", 320));
  ASSERT_FALSE(backend);
  const std::string message = backend.status().message();
  EXPECT_NE(message.find("--imgsz 320"), std::string::npos) << message;
  EXPECT_NE(message.find("224"), std::string::npos) << message;
}

TEST(ClassifierBackend, WeightsOfAnotherArchitectureAreRefused) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("streaminfer_r18_for_r50_" + std::to_string(::getpid()) + ".pt"))
                               .string();
  ASSERT_TRUE(save_weights(*ResNet(18, 1000), path).is_ok());
  auto options = classifier_options("resnet50", 64);
  options.weights = path;
  auto backend = create_backend(options);
  std::filesystem::remove(path);
  ASSERT_FALSE(backend);
  const std::string message = backend.status().message();
  EXPECT_EQ(message.rfind("--weights: ", 0), 0u) << message;
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("does not match"), std::string::npos) << message;
}

}  // namespace
}  // namespace streaminfer
