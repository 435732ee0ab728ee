#include "fleet/rendezvous.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

namespace streaminfer {
namespace {

std::vector<std::string> cameras(int n) {
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) names.push_back(fmt::format("cam-{}", i));
  return names;
}

TEST(Rendezvous, EveryCameraHasExactlyOneOwnerAndEveryWorkerAgrees) {
  const std::vector<FleetWorker> workers = {{"w1", 1}, {"w2", 1}, {"w3", 1}};
  const auto owners = rendezvous_assign(cameras(12), workers);
  size_t total = 0;
  for (const auto& [worker, cams] : owners) total += cams.size();
  EXPECT_EQ(total, 12u);
  // Membership given in another order: the same answer.
  const std::vector<FleetWorker> shuffled = {{"w3", 1}, {"w1", 1}, {"w2", 1}};
  EXPECT_EQ(rendezvous_assign(cameras(12), shuffled), owners);
  EXPECT_EQ(rendezvous_owner("cam-1", {}), "");
  EXPECT_EQ(rendezvous_owner("cam-1", {{"w1", 0}}), "");
}

TEST(Rendezvous, AWorkerLeavingMovesOnlyItsOwnCamerasAndOneJoiningTakesOnlyWhatItWins) {
  const auto names = cameras(3000);
  const std::vector<FleetWorker> three = {{"w1", 1}, {"w2", 1}, {"w3", 1}};
  const std::vector<FleetWorker> two = {{"w1", 1}, {"w3", 1}};
  std::vector<FleetWorker> four = three;
  four.push_back({"w4", 1});
  int moved_by_join = 0;
  for (const auto& camera : names) {
    const std::string before = rendezvous_owner(camera, three);
    const std::string after_leave = rendezvous_owner(camera, two);
    if (before != "w2") {
      EXPECT_EQ(after_leave, before) << camera << " moved though w1, w3 stayed";
    }
    const std::string after_join = rendezvous_owner(camera, four);
    if (after_join != before) {
      EXPECT_EQ(after_join, "w4") << camera << " moved between old workers";
      ++moved_by_join;
    }
  }
  // The newcomer takes about a quarter.
  EXPECT_NEAR(moved_by_join / 3000.0, 0.25, 0.04);
}

TEST(Rendezvous, SharesFollowTheWeights) {
  const auto names = cameras(20000);
  const auto owners = rendezvous_assign(names, {{"small", 1}, {"big", 3}});
  EXPECT_NEAR(owners.at("big").size() / 20000.0, 0.75, 0.02);
  // A worker without capacity gets nothing.
  const auto with_idle = rendezvous_assign(names, {{"a", 1}, {"idle", 0}});
  EXPECT_TRUE(with_idle.at("idle").empty());
  EXPECT_EQ(with_idle.at("a").size(), names.size());
}

}  // namespace
}  // namespace streaminfer
