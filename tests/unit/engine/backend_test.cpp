#include "infer/backend.h"

#include <gtest/gtest.h>

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
  EXPECT_NE(backend.status().message().find("built without CUDA"), std::string::npos);
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
