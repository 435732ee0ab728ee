#include "infer/model_output_check.h"

#include <gtest/gtest.h>
#include <torch/types.h>

namespace streaminfer {
namespace {

ModelInfo detector() {
  ModelInfo info;
  info.name = "traced";
  info.task = ModelTask::kDetect;
  info.num_classes = 4;
  info.num_anchors = 2100;
  return info;
}

TEST(ModelOutputCheck, AnOutputThatDoesNotFollowItsBatchIsNamedWithBothShapes) {
  const ModelInfo info = detector();
  EXPECT_TRUE(check_model_output(info, 2, torch::zeros({2, 8, 2100})));
  const Status status = check_model_output(info, 2, torch::zeros({1, 8, 2100}));
  ASSERT_FALSE(status);
  EXPECT_NE(status.message().find("model 'traced' returned shape [1, 8, 2100] for a batch of 2"),
            std::string::npos)
      << status.message();
  EXPECT_NE(status.message().find("expected [2, 8, 2100]"), std::string::npos);
  EXPECT_NE(status.message().find("dynamic batch"), std::string::npos);
  EXPECT_FALSE(check_model_output(info, 2, torch::zeros({2, 9, 2100})));
  EXPECT_FALSE(check_model_output(info, 2, torch::zeros({2, 8, 2100}, torch::kHalf)));
  EXPECT_FALSE(check_model_output(info, 2, torch::zeros({2, 2100, 8}).transpose(1, 2)));
}

TEST(ModelOutputCheck, ClassifiersGiveOneRowPerFrame) {
  ModelInfo info;
  info.name = "resnet18";
  info.task = ModelTask::kClassify;
  info.num_classes = 1000;
  EXPECT_TRUE(check_model_output(info, 3, torch::zeros({3, 1000})));
  EXPECT_FALSE(check_model_output(info, 3, torch::zeros({1, 1000})));
}

TEST(ErrorReason, KeepsTheLineThatSaysWhyNotTheInterpretersPreamble) {
  const std::string what =
      "The following operation failed in the TorchScript interpreter.\n"
      "Traceback of TorchScript (most recent call last):\n"
      "  File \"code/__torch__.py\", line 10, in forward\n"
      "    return x.view(7, 13)\n"
      "           ~~~~~~ <--- HERE\n"
      "RuntimeError: shape '[7, 13]' is invalid for input of size 24576\n";
  EXPECT_EQ(error_reason(what), "RuntimeError: shape '[7, 13]' is invalid for input of size 24576");
  EXPECT_EQ(error_reason("just one line\nException raised from foo at bar.cpp:1"), "just one line");
}

}  // namespace
}  // namespace streaminfer
