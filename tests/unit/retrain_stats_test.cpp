#include "profile/retrain_stats.h"

#include <gtest/gtest.h>

#include "profile/summary_json.h"

namespace streaminfer {
namespace {

TrainStepRecord retrain_step_of(double loss, double forward_ms = 0, double backward_ms = 0,
                                double optimizer_ms = 0) {
  TrainStepRecord r;
  r.loss = loss;
  r.forward_ms = forward_ms;
  r.backward_ms = backward_ms;
  r.optimizer_ms = optimizer_ms;
  return r;
}

TEST(RetrainStats, LossOfTheFirstAndLastTenthAndTheThreeStages) {
  RetrainStats stats;
  stats.model = "yolov8n: test";
  stats.generated_label_streams = {1};
  // 20 steps: the first tenth is steps 0-1 (losses 20, 19), the last steps 18-19 (2, 1).
  for (int i = 0; i < 20; ++i) {
    stats.add(retrain_step_of(20.0 - i, 10, 20, 1));
  }
  EXPECT_EQ(stats.steps(), 20);
  EXPECT_DOUBLE_EQ(stats.first_tenth_loss(), 19.5);
  EXPECT_DOUBLE_EQ(stats.last_tenth_loss(), 1.5);

  const std::string text = format_retrain(stats);
  EXPECT_NE(text.find("20 optimizer step(s), mean loss first 10% 19.5000, last 10% 1.5000"),
            std::string::npos)
      << text;
  for (const char* stage : {"forward", "backward", "optimizer"}) {
    EXPECT_NE(text.find(stage), std::string::npos) << text;
  }
  EXPECT_NE(text.find("stream 1: generated labels (profiling only: the loss means nothing)"),
            std::string::npos)
      << text;

  RunStats run;
  run.retrain = stats;
  const auto json = summary_to_json(run, "yolov8n", {});
  ASSERT_TRUE(json.contains("retrain"));
  EXPECT_EQ(json["retrain"]["steps"], 20);
  EXPECT_DOUBLE_EQ(json["retrain"]["backward"]["mean_ms"].get<double>(), 20.0);
  EXPECT_EQ(json["retrain"]["generated_label_streams"], nlohmann::json::array({1}));
  EXPECT_NE(format_summary(run).find("retrain: yolov8n: test"), std::string::npos);
}

TEST(RetrainStats, FewerThanTenStepsUseOneStepAtEachEnd) {
  RetrainStats stats;
  stats.add(retrain_step_of(3));
  stats.add(retrain_step_of(2));
  stats.add(retrain_step_of(1));
  EXPECT_DOUBLE_EQ(stats.first_tenth_loss(), 3);
  EXPECT_DOUBLE_EQ(stats.last_tenth_loss(), 1);
  EXPECT_FALSE(summary_to_json(RunStats{}, "m", {}).contains("retrain")) << "infer mode";
}

}  // namespace
}  // namespace streaminfer
