#include "config/thread_plan.h"

#include <gtest/gtest.h>

namespace streaminfer {
namespace {

TEST(ThreadPlan, InferenceTakesEveryCoreAndDecodingAtMostHalf) {
  const ThreadPlan two_cores_four_streams = plan_threads(2, 4, 0, 0);
  EXPECT_EQ(two_cores_four_streams.inference, 2);
  EXPECT_EQ(two_cores_four_streams.decode_per_stream, 1);
  EXPECT_EQ(plan_threads(16, 2, 0, 0).decode_per_stream, 4);
  EXPECT_EQ(plan_threads(16, 8, 0, 0).decode_per_stream, 1);
  EXPECT_EQ(plan_threads(64, 1, 0, 0).decode_per_stream, 4);  // FFmpeg gains little beyond
  EXPECT_EQ(plan_threads(8, 1, 0, 0).decode_per_stream, 4);
  EXPECT_EQ(plan_threads(8, 2, 0, 0).decode_per_stream, 2);
}

TEST(ThreadPlan, TheUsersFlagsWin) {
  const ThreadPlan plan = plan_threads(2, 4, 3, 2);
  EXPECT_EQ(plan.inference, 3);
  EXPECT_EQ(plan.decode_per_stream, 2);
  EXPECT_EQ(plan.describe(),
            "threads on 2 core(s): inference 3 (LibTorch, --threads), decode 2 per stream x 4 "
            "(--decode-threads), preprocess 1, postprocess 1");
}

TEST(ThreadPlan, NoCoreOrStreamStillPlansOneOfEach) {
  const ThreadPlan plan = plan_threads(0, 0, 0, 0);
  EXPECT_EQ(plan.inference, 1);
  EXPECT_EQ(plan.decode_per_stream, 1);
  EXPECT_NE(plan.describe().find("planned: half of 1 core(s) over 1 stream(s), 1 to 4 each"),
            std::string::npos)
      << plan.describe();
}

}  // namespace
}  // namespace streaminfer
