// The fleet's address, what a worker reads of the fleet and the plan it makes from it: every
// rule of the assignment, without etcd (tests/unit/etcd_client_test.cpp has the real one).
#include "fleet/fleet_view.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "fleet/fleet_address.h"
#include "fleet/rendezvous.h"

namespace streaminfer {
namespace {

TEST(FleetAddress, ParsesHostPortAndPrefixAndRefusesTheRest) {
  auto a = parse_fleet_address("etcd://127.0.0.1:2379/site1");
  ASSERT_TRUE(a) << a.status().message();
  EXPECT_EQ(a->endpoint, "http://127.0.0.1:2379");
  EXPECT_EQ(a->prefix, "site1/");
  EXPECT_EQ(a->workers(), "site1/workers/");
  EXPECT_EQ(a->streams(), "site1/streams/");
  EXPECT_EQ(a->owners(), "site1/owners/");
  auto b = parse_fleet_address("etcd://etcd.default.svc/plant/line-2/");
  ASSERT_TRUE(b) << b.status().message();
  EXPECT_EQ(b->endpoint, "http://etcd.default.svc:2379");
  EXPECT_EQ(b->prefix, "plant/line-2/");
  auto v6 = parse_fleet_address("etcd://[::1]:2380/x");
  ASSERT_TRUE(v6) << v6.status().message();
  EXPECT_EQ(v6->endpoint, "http://[::1]:2380");
  for (const char* bad :
       {"http://127.0.0.1:2379/site", "etcd://127.0.0.1:2379", "etcd://127.0.0.1:2379/",
        "etcd:///site", "etcd://h:0/site", "etcd://h:99999/site", "etcd://h:12x/site",
        "etcd://h/a//b", "etcd://h/a b", "etcd://h/a\nb", "etcd://h o/site"}) {
    auto r = parse_fleet_address(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.status().message().find("--fleet"), std::string::npos) << r.status().message();
    EXPECT_EQ(r.status().message().find('\n'), std::string::npos) << bad;
  }
  EXPECT_TRUE(check_fleet_name("host-1:8080", "--worker-id"));
  EXPECT_FALSE(check_fleet_name("", "--worker-id"));
  EXPECT_FALSE(check_fleet_name("a/b", "--worker-id"));
  EXPECT_FALSE(check_fleet_name(std::string(129, 'a'), "--worker-id"));
}

const FleetAddress kSite{"http://127.0.0.1:2379", "site/"};

EtcdKeyValue kv(std::string key, std::string value, int64_t lease = 0) {
  EtcdKeyValue out;
  out.key = std::move(key);
  out.value = std::move(value);
  out.lease = lease;
  return out;
}

EtcdKeyValue worker(const std::string& id, double capacity, int64_t lease) {
  FleetWorkerRecord w;
  w.id = id;
  w.api = "http://" + id;
  w.capacity_fps = capacity;
  return kv("site/workers/" + id, worker_record_value(w), lease);
}

TEST(FleetView, ReadsWorkersCamerasAndOwnersAndListsWhatItCannotRead) {
  const FleetView view = read_fleet_view(
      kSite,
      {worker("w1", 100, 11), worker("w2", 50, 12), kv("site/workers/w3", "not json", 13),
       kv("site/streams/cam-1", "synthetic:"), kv("site/streams/bad name", "synthetic:"),
       kv("site/owners/cam-1", "w2", 12), kv("site/other/x", "y")},
      42);
  EXPECT_EQ(view.revision, 42);
  ASSERT_EQ(view.workers.size(), 2u);
  EXPECT_EQ(view.workers[0].id, "w1");
  EXPECT_EQ(view.workers[0].api, "http://w1");
  EXPECT_DOUBLE_EQ(view.workers[1].capacity_fps, 50);
  EXPECT_EQ(view.workers[1].lease, 12);
  ASSERT_EQ(view.cameras.size(), 1u);
  EXPECT_EQ(view.cameras[0].value, "synthetic:");
  ASSERT_EQ(view.owners.count("cam-1"), 1u);
  EXPECT_EQ(view.owners.at("cam-1").worker, "w2");
  EXPECT_EQ(view.owners.at("cam-1").lease, 12);
  ASSERT_EQ(view.ignored.size(), 2u);
  EXPECT_EQ(view.ignored[0].rfind("site/workers/w3", 0), 0u);
  EXPECT_EQ(view.ignored[1].rfind("site/streams/bad name", 0), 0u);
}

// 12 cameras over w1 (lease 11) and w2 (lease 12), no owner keys yet.
FleetView two_workers(int cameras = 12) {
  std::vector<EtcdKeyValue> keys = {worker("w1", 10, 11), worker("w2", 10, 12)};
  for (int i = 0; i < cameras; ++i) {
    keys.push_back(kv("site/streams/cam-" + std::to_string(i), "synthetic:"));
  }
  return read_fleet_view(kSite, keys, 1);
}

std::set<std::string> as_set(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

TEST(FleetPlan, EachWorkerClaimsItsRendezvousShareAndNothingElse) {
  const FleetView view = two_workers();
  const FleetPlan p1 = plan_fleet(view, "w1", 11, {}, false);
  const FleetPlan p2 = plan_fleet(view, "w2", 12, {}, false);
  EXPECT_EQ(p1.claim.size() + p2.claim.size(), 12u);
  std::set<std::string> all = as_set(p1.claim);
  for (const auto& c : p2.claim) EXPECT_TRUE(all.insert(c).second) << c << " claimed twice";
  const std::vector<FleetWorker> members = {{"w1", 10}, {"w2", 10}};
  for (const auto& c : p1.claim) EXPECT_EQ(rendezvous_owner(c, members), "w1");
  EXPECT_TRUE(p1.release.empty() && p1.waiting.empty());
}

TEST(FleetPlan, AWorkerThatIsNotRegisteredUnderItsLeasePlansNothing) {
  const FleetView view = two_workers();
  const FleetPlan gone = plan_fleet(view, "w9", 19, {"cam-1"}, false);
  EXPECT_TRUE(gone.claim.empty() && gone.release.empty() && gone.waiting.empty());
  // Its id under another lease (a restart within the old lease's TTL): not registered yet.
  const FleetPlan stale = plan_fleet(view, "w1", 99, {}, false);
  EXPECT_TRUE(stale.claim.empty());
}

TEST(FleetPlan, ACameraHeldByAnotherLeaseIsWaitedForAndGivenUpIfItRunsHere) {
  FleetView view = two_workers();
  const FleetPlan mine = plan_fleet(view, "w1", 11, {}, false);
  ASSERT_FALSE(mine.claim.empty());
  const std::string cam = mine.claim[0];
  view.owners[cam] = {"w2", 12};
  const FleetPlan waiting = plan_fleet(view, "w1", 11, {}, false);
  EXPECT_EQ(std::count(waiting.claim.begin(), waiting.claim.end(), cam), 0);
  EXPECT_EQ(as_set(waiting.waiting), std::set<std::string>{cam});
  // After an outage it ran here while w2 took it: stopped here, never two at once.
  const FleetPlan both = plan_fleet(view, "w1", 11, {cam}, false);
  EXPECT_EQ(as_set(both.release), std::set<std::string>{cam});
  // w2, whose share it is not, gives it up (deletes its owner key) though it does not run it.
  const FleetPlan theirs = plan_fleet(view, "w2", 12, {}, false);
  EXPECT_EQ(std::count(theirs.release.begin(), theirs.release.end(), cam), 1);
}

TEST(FleetPlan, WhenAWorkerLeavesOnlyItsCamerasMoveAndWhenItJoinsOnlyItsShareDoes) {
  std::vector<EtcdKeyValue> keys = {worker("w1", 10, 11), worker("w2", 10, 12),
                                    worker("w3", 10, 13)};
  for (int i = 0; i < 60; ++i) keys.push_back(kv("site/streams/cam-" + std::to_string(i), "s:"));
  const FleetView three = read_fleet_view(kSite, keys, 1);
  std::map<std::string, std::set<std::string>> runs;
  for (const auto& [id, lease] :
       std::vector<std::pair<std::string, int64_t>>{{"w1", 11}, {"w2", 12}, {"w3", 13}}) {
    runs[id] = as_set(plan_fleet(three, id, lease, {}, false).claim);
  }
  keys.erase(keys.begin() + 2);  // w3's lease expired
  const FleetView two = read_fleet_view(kSite, keys, 2);
  for (const auto& [id, lease] :
       std::vector<std::pair<std::string, int64_t>>{{"w1", 11}, {"w2", 12}}) {
    const FleetPlan p = plan_fleet(two, id, lease, runs[id], false);
    EXPECT_TRUE(p.release.empty()) << id << " gave up a camera it kept";
    // Its own cameras are re-claimed (no owner keys in this view); the new ones were w3's.
    for (const auto& c : p.claim) {
      if (!runs[id].count(c)) {
        EXPECT_TRUE(runs["w3"].count(c)) << c << " was not w3's";
      }
    }
  }
}

TEST(FleetPlan, SettlingKeepsAndReclaimsWhatRunsHereButTakesNothingNew) {
  const FleetView view = two_workers();
  const FleetPlan fresh = plan_fleet(view, "w1", 11, {}, false);
  ASSERT_GE(fresh.claim.size(), 2u);
  const std::set<std::string> running = {fresh.claim[0]};
  const FleetPlan settling = plan_fleet(view, "w1", 11, running, true);
  EXPECT_EQ(as_set(settling.claim), running) << "only its running camera is re-claimed";
  const FleetPlan settled = plan_fleet(view, "w1", 11, running, false);
  EXPECT_EQ(settled.claim.size(), fresh.claim.size());
}

TEST(FleetPlan, CamerasOffTheListAreReleasedAndHeldKeysOfNothingGiveBack) {
  FleetView view = two_workers(2);
  view.owners["gone"] = {"w1", 11};
  const FleetPlan p = plan_fleet(view, "w1", 11, {"removed-camera"}, false);
  EXPECT_EQ(as_set(p.release), (std::set<std::string>{"gone", "removed-camera"}));
  // Running and held here, ours by the hash: nothing to do.
  FleetView steady = two_workers();
  const FleetPlan first = plan_fleet(steady, "w1", 11, {}, false);
  for (const auto& c : first.claim) steady.owners[c] = {"w1", 11};
  const FleetPlan again = plan_fleet(steady, "w1", 11, as_set(first.claim), false);
  EXPECT_TRUE(again.claim.empty() && again.release.empty() && again.waiting.empty());
}

}  // namespace
}  // namespace streaminfer
