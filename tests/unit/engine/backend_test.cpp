#include "infer/backend.h"

#include <gtest/gtest.h>
#include <torch/types.h>

#include <filesystem>
#include <fstream>

namespace streaminfer {
namespace {

BackendOptions small_options(const std::string& model) {
  BackendOptions options;
  options.model = model;
  options.input_size = 64;
  options.threads = 1;
  return options;
}

TEST(Backend, BuiltinModelSaysItHasRandomWeights) {
  auto backend = create_backend(small_options("yolov8n"));
  ASSERT_TRUE(backend) << backend.status().message();
  const auto& info = backend.value()->info();
  EXPECT_TRUE(info.random_weights);
  EXPECT_NE(info.description.find("random weights"), std::string::npos);
  EXPECT_EQ(info.num_classes, 80);
  EXPECT_EQ(info.num_anchors, 84);
  EXPECT_EQ(info.labels.size(), 80u);
  auto out = backend.value()->infer(torch::zeros({3, 3, 64, 64}));
  ASSERT_TRUE(out);
  EXPECT_EQ(out.value().sizes(), (std::vector<int64_t>{3, 84, 84}));
}

TEST(Backend, MicroBatchesGiveTheWholeBatchsOutput) {
  // Same seeded weights in both backends; a batch of 5 in one forward against forwards of 2.
  at::manual_seed(7);
  BackendOptions whole = small_options("yolov8n");
  whole.micro_batch = 5;
  auto one_forward = create_backend(whole);
  ASSERT_TRUE(one_forward) << one_forward.status().message();
  at::manual_seed(7);
  BackendOptions split = small_options("yolov8n");
  split.micro_batch = 2;
  auto in_parts = create_backend(split);
  ASSERT_TRUE(in_parts) << in_parts.status().message();
  EXPECT_EQ(in_parts.value()->info().micro_batch, 2);
  EXPECT_EQ(in_parts.value()->info().micro_batch_why, "set");

  at::manual_seed(1);
  const torch::Tensor input = torch::rand({5, 3, 64, 64});
  auto a = one_forward.value()->infer(input);
  auto b = in_parts.value()->infer(input);
  ASSERT_TRUE(a && b);
  ASSERT_EQ(b.value().sizes(), a.value().sizes());
  EXPECT_TRUE(torch::allclose(a.value(), b.value(), 1e-4, 1e-4))
      << (a.value() - b.value()).abs().max().item<float>();
}

TEST(Backend, MicroBatchIsMeasuredWhenNotSet) {
  auto backend = create_backend(small_options("yolov8n"));
  ASSERT_TRUE(backend) << backend.status().message();
  const auto& info = backend.value()->info();
  EXPECT_TRUE(info.micro_batch == 1 || info.micro_batch == 2 || info.micro_batch == 4)
      << info.micro_batch;
  for (const char* size : {"1: ", "2: ", "4: "}) {
    EXPECT_NE(info.micro_batch_why.find(size), std::string::npos) << info.micro_batch_why;
  }
  BackendOptions negative = small_options("yolov8n");
  negative.micro_batch = -1;
  auto refused = create_backend(negative);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.status().message().find("--micro-batch"), std::string::npos);
}

// int8 needs BatchNorm folded: without it the model runs fp32, and says so, rather than failing.
TEST(Backend, Int8WithoutFoldedBatchNormRunsFp32AndSaysWhy) {
  BackendOptions options = small_options("yolov8n");
  options.fuse_bn = false;
  options.precision = "int8";
  auto backend = create_backend(options);
  ASSERT_TRUE(backend) << backend.status().message();
  const ModelInfo& info = backend.value()->info();
  EXPECT_EQ(info.precision, "fp32");
  EXPECT_NE(info.precision_fallback.find("BatchNorm is not folded"), std::string::npos)
      << info.precision_fallback;
}

TEST(Backend, UnknownModelNameIsNamed) {
  auto backend = create_backend(small_options("yolov9000"));
  ASSERT_FALSE(backend);
  EXPECT_NE(backend.status().message().find("unknown model 'yolov9000'"), std::string::npos);
}

TEST(Backend, MissingModelFileIsNamed) {
  auto backend = create_backend(small_options("/nonexistent/model.torchscript"));
  ASSERT_FALSE(backend);
  EXPECT_NE(backend.status().message().find("'/nonexistent/model.torchscript' not found"),
            std::string::npos);
}

TEST(Backend, GarbageModelFileIsRejected) {
  auto path = std::filesystem::temp_directory_path() / "streaminfer_garbage.torchscript";
  std::ofstream(path) << "this is not a model";
  auto backend = create_backend(small_options(path.string()));
  std::filesystem::remove(path);
  ASSERT_FALSE(backend);
  EXPECT_NE(backend.status().message().find("not a TorchScript file"), std::string::npos);
}

TEST(Backend, CudaInCpuBuildExplainsHowToGetIt) {
  auto options = small_options("yolov8n");
  options.device = "cuda";
  auto backend = create_backend(options);
  ASSERT_FALSE(backend);
  EXPECT_NE(backend.status().message().find("has no cuda backend"), std::string::npos);
}

TEST(Backend, WeightsFileThatDoesNotExistIsNamed) {
  auto options = small_options("yolov8n");
  options.weights = "/nonexistent/weights.pt";
  auto backend = create_backend(options);
  ASSERT_FALSE(backend);
  EXPECT_NE(backend.status().message().find("/nonexistent/weights.pt"), std::string::npos);
}

}  // namespace
}  // namespace streaminfer
