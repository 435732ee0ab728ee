// Fleet members against a real etcd (Debian's etcd-server), with callbacks that record what
// they are asked to run instead of a pipeline: the claiming, the hand-over when a member joins
// or leaves, a camera taken off the list, an id in use, and an etcd that goes away and comes
// back. (The whole worker with its pipeline: tests/integration/fleet_test.cpp.)
#include "fleet/fleet_member.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "child_process.h"
#include "etcd_server.h"

namespace streaminfer {
namespace {

using namespace std::chrono_literals;
using test::EtcdServer;
using test::wait_until;

// What a worker was asked to run, as its pipeline would see it; it fails the test when a camera
// is started twice here.
class Recorder {
 public:
  FleetCallbacks callbacks() {
    FleetCallbacks c;
    c.check = [](const std::string&, const std::string& entry) {
      return entry == "bad" ? Status::error("a bad entry") : Status::ok();
    };
    c.start = [this](const std::string& name, const std::string&) {
      std::lock_guard lock(mutex_);
      EXPECT_TRUE(running_.insert(name).second) << name << " started twice";
      ++starts_;
      return Status::ok();
    };
    c.stop = [this](const std::string& name) {
      std::lock_guard lock(mutex_);
      running_.erase(name);
    };
    c.ended = [this] {
      std::lock_guard lock(mutex_);
      std::map<std::string, std::string> ended;
      for (const auto& name : dead_) {
        if (running_.count(name)) ended[name] = "ended";
      }
      return ended;
    };
    return c;
  }
  // The camera's stream ends here (as a file or a camera out of reconnects would).
  void end(const std::string& name, bool ended = true) {
    std::lock_guard lock(mutex_);
    if (ended) {
      dead_.insert(name);
    } else {
      dead_.erase(name);
    }
  }
  std::set<std::string> running() const {
    std::lock_guard lock(mutex_);
    return running_;
  }
  int starts() const {
    std::lock_guard lock(mutex_);
    return starts_;
  }

 private:
  mutable std::mutex mutex_;
  std::set<std::string> running_;
  std::set<std::string> dead_;
  int starts_ = 0;
};

class FleetMemberTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(etcd_.start(), "");
    address_ = {etcd_.endpoint(), "site/"};
  }
  std::unique_ptr<FleetMember> join(const std::string& id, Recorder& recorder) {
    FleetMemberOptions o;
    o.address = address_;
    o.worker_id = id;
    o.api = "http://" + id;
    o.capacity_fps = 10;
    o.ttl_s = 2;
    o.poll = 100ms;
    o.first_retry = 1s;
    auto member = FleetMember::join(o, recorder.callbacks());
    EXPECT_TRUE(member) << member.status().message();
    return member ? std::move(member.value()) : nullptr;
  }
  void put_cameras(int n) {
    EtcdClient etcd(etcd_.endpoint());
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(etcd.put("site/streams/cam-" + std::to_string(i), "synthetic:"));
    }
  }
  // Every listed camera runs on exactly one recorder.
  static bool each_once(const std::vector<Recorder*>& recorders, size_t cameras) {
    std::multiset<std::string> all;
    for (const Recorder* r : recorders) {
      for (const auto& c : r->running()) all.insert(c);
    }
    return all.size() == cameras && std::set<std::string>(all.begin(), all.end()).size() == cameras;
  }

  EtcdServer etcd_;
  FleetAddress address_;
};

TEST_F(FleetMemberTest, MembersSplitTheCamerasAndHandThemOverWhenOneJoinsOrLeaves) {
  put_cameras(12);
  Recorder r1, r2;
  auto m1 = join("w1", r1);
  ASSERT_TRUE(m1);
  ASSERT_TRUE(wait_until([&] { return r1.running().size() == 12; }, 10s)) << "w1 alone";
  auto m2 = join("w2", r2);
  ASSERT_TRUE(m2);
  // w2 settles one TTL, w1 gives its share up, w2 takes it.
  ASSERT_TRUE(wait_until(
      [&] {
        return !r2.running().empty() && each_once({&r1, &r2}, 12);
      },
      10s))
      << r1.running().size() << " + " << r2.running().size();
  const auto described = m1->describe();
  EXPECT_EQ(described["workers"].size(), 2u);
  EXPECT_TRUE(described["connected"].get<bool>());
  EXPECT_GT(m1->etcd_requests(), 0);

  // Taken off the list: stopped where it ran.
  EtcdClient etcd(etcd_.endpoint());
  ASSERT_TRUE(etcd.remove("site/streams/cam-0"));
  ASSERT_TRUE(wait_until([&] { return each_once({&r1, &r2}, 11); }, 5s));
  // A bad entry is claimed by nobody.
  ASSERT_TRUE(etcd.put("site/streams/cam-bad", "bad"));
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(each_once({&r1, &r2}, 11));
  EXPECT_FALSE(etcd.get("site/owners/cam-bad").value().has_value());

  // w2 leaves: its lease revoked, its cameras on w1 at once (well within the TTL).
  const auto left = std::chrono::steady_clock::now();
  m2->leave();
  ASSERT_TRUE(wait_until([&] { return r1.running().size() == 11; }, 5s));
  EXPECT_LT(std::chrono::steady_clock::now() - left, 2s);
}

TEST_F(FleetMemberTest, ACameraThatEndsIsGivenBackAndTriedAgainAndALostRegistrationIsPutBack) {
  put_cameras(2);
  Recorder r1;
  auto m1 = join("w1", r1);
  ASSERT_TRUE(m1);
  ASSERT_TRUE(wait_until([&] { return r1.running().size() == 2; }, 10s));
  EtcdClient etcd(etcd_.endpoint());
  r1.end("cam-0");
  ASSERT_TRUE(wait_until(
      [&] {
        return !r1.running().count("cam-0") && !etcd.get("site/owners/cam-0").value().has_value();
      },
      5s))
      << "an ended camera was not given back";
  r1.end("cam-0", false);
  const int starts = r1.starts();
  ASSERT_TRUE(wait_until([&] { return r1.running().count("cam-0") > 0; }, 5s))
      << "not tried again after its pause";
  EXPECT_EQ(r1.starts(), starts + 1);
  // Its registration deleted by hand: put back under the same lease.
  ASSERT_TRUE(etcd.remove("site/workers/w1"));
  EXPECT_TRUE(wait_until([&] { return etcd.get("site/workers/w1").value().has_value(); }, 5s));
  EXPECT_EQ(r1.running().size(), 2u);
}

TEST_F(FleetMemberTest, AnIdInUseIsRefusedAndADeadMembersCamerasMoveWhenItsLeaseExpires) {
  put_cameras(4);
  Recorder r1, r2, r3;
  auto m1 = join("w1", r1);
  ASSERT_TRUE(m1);
  FleetMemberOptions o;
  o.address = address_;
  o.worker_id = "w1";
  o.ttl_s = 2;
  auto twin = FleetMember::join(o, r2.callbacks());
  ASSERT_FALSE(twin);
  EXPECT_NE(twin.status().message().find("--worker-id w1"), std::string::npos);
  m1->leave();
  o.ttl_s = 1;
  EXPECT_FALSE(FleetMember::join(o, r2.callbacks())) << "a TTL under 2 s";

  // A worker that died: registered, holding every camera, under a lease nobody renews.
  EtcdClient etcd(etcd_.endpoint());
  auto dead = etcd.grant_lease(2);
  ASSERT_TRUE(dead);
  FleetWorkerRecord w0;
  w0.id = "w0";
  w0.capacity_fps = 1e6;  // wins every camera by the hash while it is listed
  ASSERT_TRUE(etcd.put_if_free("site/workers/w0", worker_record_value(w0), dead.value()).value());
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(
        etcd.put_if_free("site/owners/cam-" + std::to_string(i), "w0", dead.value()).value());
  }
  const auto joined = std::chrono::steady_clock::now();
  auto m3 = join("w3", r3);
  ASSERT_TRUE(m3);
  ASSERT_TRUE(wait_until([&] { return r3.running().size() == 4; }, 10s));
  EXPECT_GE(std::chrono::steady_clock::now() - joined, 1500ms)
      << "a camera was taken while its owner's lease lived";
}

TEST_F(FleetMemberTest, AnEtcdOutageStopsNoCameraAndTheMembersCarryOnAfterIt) {
  put_cameras(6);
  Recorder r1, r2;
  auto m1 = join("w1", r1);
  auto m2 = join("w2", r2);
  ASSERT_TRUE(m1 && m2);
  ASSERT_TRUE(wait_until([&] { return each_once({&r1, &r2}, 6) && !r2.running().empty(); }, 10s));
  const std::set<std::string> before1 = r1.running(), before2 = r2.running();
  const int starts = r1.starts() + r2.starts();
  etcd_.kill();
  ASSERT_TRUE(wait_until([&] { return !m1->connected() && !m2->connected(); }, 5s));
  std::this_thread::sleep_for(3s);  // past the TTL
  EXPECT_EQ(r1.running(), before1);
  EXPECT_EQ(r2.running(), before2);
  ASSERT_EQ(etcd_.start(), "");
  ASSERT_TRUE(wait_until([&] { return m1->connected() && m2->connected(); }, 10s));
  std::this_thread::sleep_for(3s);  // a TTL and more: any re-claim is done
  EXPECT_EQ(r1.running(), before1);
  EXPECT_EQ(r2.running(), before2);
  EXPECT_EQ(r1.starts() + r2.starts(), starts) << "a camera was stopped and started again";
  // And the fleet still works: a new camera is run by one of them.
  EtcdClient etcd(etcd_.endpoint());
  ASSERT_TRUE(etcd.put("site/streams/cam-new", "synthetic:"));
  EXPECT_TRUE(wait_until([&] { return each_once({&r1, &r2}, 7); }, 10s));
}

}  // namespace
}  // namespace streaminfer
