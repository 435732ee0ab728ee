#pragma once
// What a worker reads of its fleet in one etcd range (the workers, the cameras, their owners)
// and what it should do about it: the cameras it should claim and the ones it should give up.
// Pure functions of that read, so every rule of the assignment is tested without etcd.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "fleet/etcd_client.h"
#include "fleet/fleet_address.h"

namespace streaminfer {

struct FleetWorkerRecord {
  std::string id;
  std::string api;           // its HTTP API, http://HOST:PORT
  double capacity_fps = 0;   // inference frames per second measured at its warm-up
  int64_t started_unix = 0;  // when it (re)joined
  int64_t lease = 0;
};

struct FleetCameraRecord {
  std::string name;
  std::string value;  // a URI, or a JSON object as POST /streams takes
};

struct FleetOwnerRecord {
  std::string worker;
  int64_t lease = 0;
};

struct FleetView {
  int64_t revision = 0;
  std::vector<FleetWorkerRecord> workers;          // by id
  std::vector<FleetCameraRecord> cameras;          // by name
  std::map<std::string, FleetOwnerRecord> owners;  // by camera name
  // Keys under the prefix that could not be read (a name with characters a key segment may not
  // have, a worker value that is not its JSON): "KEY: why".
  std::vector<std::string> ignored;
};

// The registration's value and its reading; a worker whose value is not its JSON is ignored.
std::string worker_record_value(const FleetWorkerRecord& worker);
FleetView read_fleet_view(const FleetAddress& address, const std::vector<EtcdKeyValue>& keys,
                          int64_t revision);

struct FleetPlan {
  // Write the owner key under our lease (in a transaction that fails when another lease holds
  // it), then start the camera when it is not running here.
  std::vector<std::string> claim;
  // Stop the camera if it runs here, then delete its owner key if our lease holds it.
  std::vector<std::string> release;
  // Ours by the hash, but another lease still holds the owner key: its worker gives it up first.
  std::vector<std::string> waiting;
};

// What worker `me` (holding `lease`) should do. `running`: the cameras it runs. `settling`: it
// (re)joined less than a lease's TTL ago, when the other workers may not have re-registered yet:
// it keeps and re-claims what it runs but takes nothing new (so a fleet that comes back from an
// etcd outage does not move cameras while its members reappear one by one). A worker that is not
// in the view (its registration is gone) plans nothing.
FleetPlan plan_fleet(const FleetView& view, const std::string& me, int64_t lease,
                     const std::set<std::string>& running, bool settling);

}  // namespace streaminfer
