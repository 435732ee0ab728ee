#include "fleet/fleet_view.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "fleet/rendezvous.h"

namespace streaminfer {

std::string worker_record_value(const FleetWorkerRecord& worker) {
  return nlohmann::json{{"id", worker.id},
                        {"api", worker.api},
                        {"capacity_fps", worker.capacity_fps},
                        {"started_unix", worker.started_unix}}
      .dump();
}

namespace {

// The part of `key` after `prefix` when it is one valid name segment.
bool name_under(const std::string& key, const std::string& prefix, std::string* name,
                std::vector<std::string>* ignored) {
  if (key.rfind(prefix, 0) != 0) return false;
  *name = key.substr(prefix.size());
  if (Status valid = check_fleet_name(*name, "name"); !valid) {
    ignored->push_back(key + ": " + valid.message());
    return false;
  }
  return true;
}

}  // namespace

FleetView read_fleet_view(const FleetAddress& address, const std::vector<EtcdKeyValue>& keys,
                          int64_t revision) {
  FleetView view;
  view.revision = revision;
  std::string name;
  for (const EtcdKeyValue& kv : keys) {
    if (name_under(kv.key, address.workers(), &name, &view.ignored)) {
      const nlohmann::json j = nlohmann::json::parse(kv.value, nullptr, false);
      if (!j.is_object() || !j.contains("capacity_fps") || !j["capacity_fps"].is_number()) {
        view.ignored.push_back(kv.key + ": not a worker's registration");
        continue;
      }
      FleetWorkerRecord w;
      w.id = name;
      w.api = j.value("api", "");
      w.capacity_fps = j["capacity_fps"].get<double>();
      w.started_unix = j.value("started_unix", int64_t{0});
      w.lease = kv.lease;
      view.workers.push_back(std::move(w));
    } else if (name_under(kv.key, address.streams(), &name, &view.ignored)) {
      view.cameras.push_back({name, kv.value});
    } else if (name_under(kv.key, address.owners(), &name, &view.ignored)) {
      view.owners[name] = {kv.value, kv.lease};
    }
  }
  return view;
}

FleetPlan plan_fleet(const FleetView& view, const std::string& me, int64_t lease,
                     const std::set<std::string>& running, bool settling) {
  FleetPlan plan;
  std::vector<FleetWorker> workers;
  bool registered = false;
  for (const auto& w : view.workers) {
    // A worker that could not measure itself still counts, as the smallest.
    workers.push_back({w.id, w.capacity_fps > 0 ? w.capacity_fps : 1});
    registered = registered || (w.id == me && w.lease == lease);
  }
  if (!registered || lease == 0) return plan;
  std::set<std::string> listed;
  for (const auto& camera : view.cameras) {
    listed.insert(camera.name);
    const bool ours_by_hash = rendezvous_owner(camera.name, workers) == me;
    const auto held = view.owners.find(camera.name);
    const bool held_by_us = held != view.owners.end() && held->second.lease == lease;
    const bool held_by_other = held != view.owners.end() && !held_by_us;
    const bool runs_here = running.count(camera.name) > 0;
    if (!ours_by_hash) {
      if (runs_here || held_by_us) plan.release.push_back(camera.name);
    } else if (held_by_other) {
      // Someone else holds it: after an outage it may have been taken while we ran it.
      if (runs_here) plan.release.push_back(camera.name);
      plan.waiting.push_back(camera.name);
    } else if (!(runs_here && held_by_us) && (runs_here || !settling)) {
      plan.claim.push_back(camera.name);
    }
  }
  // Cameras taken off the list: stopped, their owner keys given back.
  for (const auto& name : running) {
    if (!listed.count(name)) plan.release.push_back(name);
  }
  for (const auto& [name, owner] : view.owners) {
    if (owner.lease == lease && !listed.count(name) && !running.count(name)) {
      plan.release.push_back(name);
    }
  }
  return plan;
}

}  // namespace streaminfer
