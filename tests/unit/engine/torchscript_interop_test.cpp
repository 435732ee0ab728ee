// Interoperability with PyTorch: a ResNet-18 scripted by PyTorch (tests/scripts/
// make_resnet18_torchscript.py, torchvision's parameter names, random weights and BatchNorm
// statistics) loads by name into the C++ ResNet and gives PyTorch's output on the same input.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "infer/resnet.h"
#include "infer/weights_file.h"
#include "infer/yolov8_from_torchscript.h"
#include "python_command.h"

namespace streaminfer {
namespace {
namespace fs = std::filesystem;

constexpr int kClasses = 10, kSize = 64, kBatch = 2;

// The script's input formula: x[b] = 2 sin(0.01 i + b), i the flat index within the frame.
torch::Tensor fixed_input() {
  const int64_t per_frame = 3 * kSize * kSize;
  auto i = torch::arange(per_frame, torch::kFloat64);
  std::vector<torch::Tensor> frames;
  for (int b = 0; b < kBatch; ++b) frames.push_back(torch::sin(0.01 * i + b) * 2.0);
  return torch::stack(frames).view({kBatch, 3, kSize, kSize}).to(torch::kFloat32);
}

class ResNetInterop : public ::testing::Test {
 protected:
  // One script run for the suite (it takes seconds: importing torch, scripting, saving).
  static void SetUpTestSuite() {
    if (test::python_with_torch().empty()) return;
    dir_ = fs::temp_directory_path() / ("streaminfer_interop_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    const std::string command =
        test::python_script("make_resnet18_torchscript.py") +
        fmt::format("--nc {} --size {} --batch {} --seed 0 --out {} --expected {} --state-dict {}",
                    kClasses, kSize, kBatch, (dir_ / "r18.torchscript").string(),
                    (dir_ / "expected.txt").string(), (dir_ / "r18_state_dict.pt").string());
    script_ok_ = test::command_output(command).has_value();
  }
  static void TearDownTestSuite() {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  void SetUp() override {
    if (test::python_with_torch().empty()) GTEST_SKIP() << "no python3 with torch";
    ASSERT_TRUE(script_ok_) << "make_resnet18_torchscript.py failed";
  }

  static torch::Tensor expected() {
    std::ifstream in(dir_ / "expected.txt");
    int64_t rows = 0, cols = 0;
    in >> rows >> cols;
    std::vector<float> values;
    for (double v; in >> v;) values.push_back(static_cast<float>(v));
    EXPECT_EQ(static_cast<int64_t>(values.size()), rows * cols);
    return torch::tensor(values).view({rows, cols});
  }

  static void expect_pytorch_output(const std::string& file) {
    at::manual_seed(123);  // the C++ model's own random weights differ from the script's
    ResNet model(18, kClasses);
    const Status loaded = load_weights(*model, file);
    ASSERT_TRUE(loaded.is_ok()) << loaded.message();
    model->eval();
    c10::InferenceMode inference_mode;
    const auto reference = expected();
    const auto out = model->forward(fixed_input());
    ASSERT_EQ(out.sizes(), reference.sizes());
    const double diff = (out - reference).abs().max().item<double>();
    std::cout << "[          ] max |C++ - PyTorch| " << diff << " (logits up to "
              << reference.abs().max().item<double>() << ")\n";
    EXPECT_LT(diff, 1e-4);
    // The same weights with BatchNorm folded: the inference path of the backend.
    ASSERT_TRUE(model->fuse_batch_norm());
    EXPECT_LT((model->forward(fixed_input()) - reference).abs().max().item<double>(), 1e-4);
  }

  static inline fs::path dir_;
  static inline bool script_ok_ = false;
};

TEST_F(ResNetInterop, TorchScriptFileGivesPyTorchsOutput) {
  expect_pytorch_output((dir_ / "r18.torchscript").string());
}

TEST_F(ResNetInterop, PyTorchStateDictGivesPyTorchsOutput) {
  expect_pytorch_output((dir_ / "r18_state_dict.pt").string());
}

// A TorchScript file that is not a YOLOv8 is not taken for one (the oneDNN plans' YOLOv8 from a
// TorchScript file); the reason names what is missing.
TEST_F(ResNetInterop, IsNotTakenForAYoloV8) {
  const auto match = yolov8_from_torchscript((dir_ / "r18.torchscript").string());
  ASSERT_FALSE(match);
  EXPECT_NE(match.status().message().find("model.0.conv.weight"), std::string::npos)
      << match.status().message();
}

}  // namespace
}  // namespace streaminfer
