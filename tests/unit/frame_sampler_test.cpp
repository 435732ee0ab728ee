#include "source/frame_sampler.h"

#include <gtest/gtest.h>

#include <vector>

namespace streaminfer {
namespace {

std::vector<int64_t> kept(FrameSampler sampler, int frames, double fps, double pts_offset = 0) {
  std::vector<int64_t> out;
  for (int i = 0; i < frames; ++i) {
    if (sampler.keep(i, pts_offset + i / fps)) out.push_back(i);
  }
  return out;
}

TEST(FrameSampler, KeepsEveryFrameByDefault) {
  EXPECT_EQ(kept(FrameSampler(1, 0), 5, 30), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(kept(FrameSampler(0, 0), 3, 30), (std::vector<int64_t>{0, 1, 2}));
}

TEST(FrameSampler, EveryNthKeepsMultiplesOfN) {
  EXPECT_EQ(kept(FrameSampler(3, 0), 10, 30), (std::vector<int64_t>{0, 3, 6, 9}));
}

TEST(FrameSampler, SampleFpsKeepsEvenlySpacedFramesByTimestamp) {
  // 30 fps for 2 s at 5 fps: every 6th frame, 10 in all, including at pts 0.2 (rounded ticks).
  const auto frames = kept(FrameSampler(1, 5), 60, 30);
  EXPECT_EQ(frames, (std::vector<int64_t>{0, 6, 12, 18, 24, 30, 36, 42, 48, 54}));
}

TEST(FrameSampler, SampleFpsAboveTheStreamRateKeepsEverything) {
  EXPECT_EQ(kept(FrameSampler(1, 60), 5, 30).size(), 5u);
}

TEST(FrameSampler, NonIntegerRatioKeepsTheRequestedRateOnAverage) {
  // 25 fps sampled at 2 fps over 10 s: 20 frames, not 25 / 12 rounded schedules.
  EXPECT_EQ(kept(FrameSampler(1, 2), 250, 25).size(), 20u);
}

TEST(FrameSampler, BothLimitsApply) {
  // Every 2nd frame of 30 fps is 15 fps; at most 5 fps of those.
  const auto frames = kept(FrameSampler(2, 5), 30, 30);
  EXPECT_EQ(frames, (std::vector<int64_t>{0, 6, 12, 18, 24}));
}

TEST(FrameSampler, FollowsAClockThatRestarts) {
  FrameSampler sampler(1, 1);
  EXPECT_TRUE(sampler.keep(0, 100.0));
  EXPECT_FALSE(sampler.keep(1, 100.5));
  // The camera reconnected and its timestamps start again at 0: sampling resumes at once.
  EXPECT_TRUE(sampler.keep(2, 0.0));
  EXPECT_FALSE(sampler.keep(3, 0.5));
  EXPECT_TRUE(sampler.keep(4, 1.0));
}

TEST(FrameSampler, AfterAGapTheScheduleRestartsFromTheNextFrame) {
  FrameSampler sampler(1, 1);
  EXPECT_TRUE(sampler.keep(0, 0.0));
  EXPECT_TRUE(sampler.keep(1, 10.3));  // 10 s without frames
  EXPECT_FALSE(sampler.keep(2, 11.0));
  EXPECT_TRUE(sampler.keep(3, 11.3));
}

}  // namespace
}  // namespace streaminfer
