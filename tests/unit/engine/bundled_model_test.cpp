// The bundled detector (yolov8n-shapes): its weights are found and loaded with the class names
// they were trained on, and a missing file says where it was looked for.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "infer/backend.h"
#include "infer/model_zoo.h"
#include "source/synthetic_source.h"

namespace streaminfer {
namespace {

TEST(BundledModel, TheDefaultModelIsTheBundledDetector) {
  const BuiltinSpec* spec = find_builtin(kDefaultModel);
  ASSERT_NE(spec, nullptr);
  EXPECT_EQ(spec->task, ModelTask::kDetect);
  EXPECT_EQ(spec->architecture, "yolov8n");
  EXPECT_EQ(spec->default_input_size, 320);
  EXPECT_FALSE(spec->bundled_weights.empty());
  auto path = find_bundled_weights(spec->bundled_weights);
  ASSERT_TRUE(path) << path.status().message();
}

TEST(BundledModel, LoadsWithTheSyntheticClassNamesAndItsInputSize) {
  BackendOptions options;
  options.model = kDefaultModel;
  options.threads = 2;
  options.micro_batch = 1;
  auto backend = create_backend(options);
  ASSERT_TRUE(backend) << backend.status().message();
  const ModelInfo& info = (*backend)->info();
  EXPECT_FALSE(info.random_weights);
  EXPECT_EQ(info.num_classes, 4);
  EXPECT_EQ(info.labels, synthetic_class_names());
  EXPECT_EQ(info.input_width, 320);
  EXPECT_NE(info.description.find("yolov8n-shapes-320.pt"), std::string::npos) << info.description;
}

TEST(BundledModel, AMissingFileNamesItAndTheFoldersSearched) {
  auto missing = find_bundled_weights("no-such-model.pt");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.status().message().find("no-such-model.pt"), std::string::npos);
  EXPECT_NE(missing.status().message().find("STREAMINFER_MODELS_DIR"), std::string::npos);
  EXPECT_EQ(missing.status().message().find('\n'), std::string::npos);
}

TEST(BundledModel, StreaminferModelsDirComesFirst) {
  const std::string dir = ::testing::TempDir() + "/bundled_models_first";
  std::filesystem::create_directories(dir);
  { std::ofstream(dir + "/yolov8n-shapes-320.pt") << "not weights"; }
  setenv("STREAMINFER_MODELS_DIR", dir.c_str(), 1);
  auto path = find_bundled_weights("yolov8n-shapes-320.pt");
  unsetenv("STREAMINFER_MODELS_DIR");
  ASSERT_TRUE(path) << path.status().message();
  EXPECT_EQ(*path, std::filesystem::path(dir + "/yolov8n-shapes-320.pt").lexically_normal());
}

}  // namespace
}  // namespace streaminfer
