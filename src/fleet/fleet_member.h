#pragma once
// One worker's membership of a fleet (`serve --fleet etcd://HOST:PORT/PREFIX`): it registers
// under PREFIX/workers/ID with a lease that a thread of its own renews every third of the TTL
// (whatever the other thread is doing: stopping a camera can take seconds), reads the fleet
// whenever etcd's revision moved (a one-key probe every poll, a full read of the prefix only
// then, and once a minute regardless), and claims and releases cameras as plan_fleet says: a
// camera is started only after its owner key was written under this worker's lease, and given
// back (owner key deleted) only after it stopped here. A camera that ended or failed here is
// given back and tried again after a pause that doubles (10 s to 5 min).
// etcd unreachable: the cameras running here keep running, said once (so a worker cut off from
// an etcd the others still reach may run a camera they took over, until it reaches etcd again:
// the choice of availability over fencing); when etcd answers again, a lost lease is
// granted anew and ownership re-checked before anything moves. Leaving revokes the lease, so
// the cameras move at once rather than after the TTL.
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "fleet/etcd_client.h"
#include "fleet/fleet_address.h"
#include "fleet/fleet_view.h"
#include "streaminfer/status.h"

namespace streaminfer {

struct FleetMemberOptions {
  FleetAddress address;
  std::string worker_id;
  std::string api;  // this worker's HTTP API, for GET /fleet on the others
  double capacity_fps = 0;
  int ttl_s = 5;
  std::chrono::milliseconds poll{250};
  // A full read at least this often, whatever the revision says: a safety net only (every
  // change, a lease's expiry included, moves the revision), and each costs etcd the whole prefix.
  std::chrono::milliseconds full_read{60000};
  // The pause before a camera that ended or failed here is tried again; doubled at each failure
  // of the same entry, up to 5 minutes.
  std::chrono::seconds first_retry{10};
};

// What the fleet asks of the worker; called on the member's thread only.
struct FleetCallbacks {
  // Whether the camera's value can run here (a URI that parses, a file that exists): checked
  // before its owner key is claimed, so a bad entry is not held.
  std::function<Status(const std::string& name, const std::string& value)> check;
  std::function<Status(const std::string& name, const std::string& value)> start;
  // Stops it and waits until its frames have their results.
  std::function<void(const std::string& name)> stop;
  // The cameras that ended or failed here, with why (ended, failed: ...): one call per round.
  std::function<std::map<std::string, std::string>()> ended;
};

class FleetMember {
 public:
  // Registers the worker and starts the member's threads. An id held by another live worker is
  // an error once it stayed held for a TTL and a second (a restarted worker's previous lease
  // may hold it until then); an etcd that does not answer is not: one line, and the member
  // keeps trying.
  static Result<std::unique_ptr<FleetMember>> join(FleetMemberOptions options,
                                                   FleetCallbacks callbacks);
  ~FleetMember();
  FleetMember(const FleetMember&) = delete;
  FleetMember& operator=(const FleetMember&) = delete;

  // Stops the member's thread: no camera is claimed, started or stopped after it returns (the
  // caller drains the running ones). The lease is still renewed until leave().
  void stop_claiming();
  // stop_claiming(), then revokes the lease: the owner keys go with it, and the cameras start on
  // the other workers at once. Call it once the cameras stopped here.
  void leave();
  // Reads again now (after a camera was added or removed through this worker's API).
  void wake();

  // GET /fleet: the workers, their capacity and the cameras each runs (from the last read),
  // the cameras nobody runs, and this member's state.
  nlohmann::json describe() const;
  bool connected() const;
  int64_t etcd_requests() const { return etcd_.requests() + renew_etcd_.requests(); }
  const std::string& worker_id() const { return options_.worker_id; }

 private:
  FleetMember(FleetMemberOptions options, FleetCallbacks callbacks);
  void loop();
  void renew_loop();
  // One round: rejoin if the lease was lost, read when something changed, act on the plan. False
  // when etcd did not answer.
  bool round();
  bool stopping() const;
  // A camera that could not start or that ended here: not claimed again before the pause.
  void retry_later(const std::string& name, const std::string& value);
  bool ensure_registered();
  // This worker's record under PREFIX/workers/, as of now (its (re)join time).
  std::string registration() const;
  bool act(const FleetView& view, const std::map<std::string, std::string>& ended);
  void release(const std::string& name);
  void note_etcd_failure(const Status& failure);
  void note_etcd_back();
  std::chrono::steady_clock::time_point now() const { return std::chrono::steady_clock::now(); }

  FleetMemberOptions options_;
  FleetCallbacks callbacks_;
  EtcdClient etcd_;        // the member's thread
  EtcdClient renew_etcd_;  // the renewing thread (one libcurl handle per thread)
  std::thread thread_;
  std::thread renewer_;

  mutable std::mutex mutex_;  // guards what describe() reads, and the wake-up
  std::condition_variable wake_;
  bool stopping_ = false;
  bool woken_ = false;
  bool connected_ = false;
  FleetView view_;
  std::map<std::string, std::string> running_;  // camera -> the value it was started with

  std::mutex renew_mutex_;
  std::condition_variable renew_wake_;
  bool renew_stop_ = false;
  std::atomic<int64_t> lease_{0};       // written by the member's thread and leave()
  std::atomic<int64_t> lost_lease_{0};  // a lease etcd said is gone (renewing thread)

  // The member's thread only.
  std::chrono::steady_clock::time_point settled_at_{};
  std::chrono::steady_clock::time_point next_full_read_{};
  int64_t last_revision_ = -1;
  bool planned_settling_ = false;  // the last plan was made while settling
  bool unreachable_said_ = false;
  bool id_taken_ = false;          // the last registration found the id held by another lease
  bool in_loop_ = false;           // join()'s first registration is over
  std::set<std::string> unclaim_;  // stopped here, owner key not yet deleted
  std::map<std::string, std::string> refused_;  // camera -> the entry that cannot run here
  struct Retry {
    std::string value;
    std::chrono::steady_clock::time_point at;
    std::chrono::seconds pause;
  };
  std::map<std::string, Retry> retry_;
  std::map<std::string, std::string> waiting_said_;
};

}  // namespace streaminfer
