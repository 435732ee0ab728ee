#include "fleet/fleet_member.h"

#include <fmt/format.h>

#include <cstdio>
#include <ctime>

#include "common/console.h"
#include "common/text.h"

namespace streaminfer {

namespace {

constexpr auto kLastRetry = std::chrono::seconds(300);

void say(const std::string& line) {
  std::fprintf(info_out(), "fleet: %s\n", line.c_str());
  std::fflush(info_out());
}

void warn(const std::string& line) {
  std::fprintf(stderr, "streaminfer: warning: fleet: %s\n", line.c_str());
  std::fflush(stderr);
}

}  // namespace

FleetMember::FleetMember(FleetMemberOptions options, FleetCallbacks callbacks)
    : options_(std::move(options)),
      callbacks_(std::move(callbacks)),
      // A request may not outlast the lease's renewal period, or a slow etcd costs the lease.
      etcd_(options_.address.endpoint, std::max(0.5, options_.ttl_s / 3.0)),
      renew_etcd_(options_.address.endpoint, std::max(0.5, options_.ttl_s / 3.0)) {}

Result<std::unique_ptr<FleetMember>> FleetMember::join(FleetMemberOptions options,
                                                       FleetCallbacks callbacks) {
  if (options.ttl_s < 2) {
    return Status::error(fmt::format(
        "--fleet-ttl {}: give at least 2 seconds (the lease is renewed every third of it)",
        options.ttl_s));
  }
  SI_RETURN_IF_ERROR(check_fleet_name(options.worker_id, "--worker-id"));
  std::unique_ptr<FleetMember> member(new FleetMember(std::move(options), std::move(callbacks)));
  // The first registration here, so that an id in use is an error of the command; but only once
  // it stayed in use longer than a lease lives (a worker restarted at once finds its previous
  // process's registration until that lease expires).
  const auto give_up =
      member->now() + std::chrono::seconds(member->options_.ttl_s) + std::chrono::seconds(1);
  while (!member->ensure_registered() && member->id_taken_ && member->now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  if (member->lease_ == 0 && member->id_taken_) {
    return Status::error(fmt::format(
        "--worker-id {}: a live worker of {} at {} already has this id; give each worker its own "
        "(it defaults to HOST:PORT of its API)",
        member->options_.worker_id, member->options_.address.prefix,
        member->options_.address.endpoint));
  }
  member->renewer_ = std::thread([m = member.get()] { m->renew_loop(); });
  member->thread_ = std::thread([m = member.get()] { m->loop(); });
  return member;
}

FleetMember::~FleetMember() { leave(); }

bool FleetMember::stopping() const {
  std::lock_guard lock(mutex_);
  return stopping_;
}

void FleetMember::stop_claiming() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void FleetMember::leave() {
  stop_claiming();
  {
    std::lock_guard lock(renew_mutex_);
    renew_stop_ = true;
  }
  renew_wake_.notify_all();
  if (renewer_.joinable()) renewer_.join();
  const int64_t lease = lease_.exchange(0);
  if (lease == 0) return;
  if (Status revoked = etcd_.revoke_lease(lease); !revoked) {
    warn(revoked.message() + " (its keys go when the lease expires)");
  } else {
    say(fmt::format("{} left (lease revoked: its cameras move now)", options_.worker_id));
  }
}

void FleetMember::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wake_.notify_all();
}

bool FleetMember::connected() const {
  std::lock_guard lock(mutex_);
  return connected_;
}

void FleetMember::renew_loop() {
  const auto period = std::chrono::milliseconds(options_.ttl_s * 1000 / 3);
  std::unique_lock lock(renew_mutex_);
  while (!renew_stop_) {
    auto pause = period;
    const int64_t lease = lease_.load();
    if (lease != 0 && lease != lost_lease_.load()) {
      lock.unlock();
      auto ttl = renew_etcd_.keep_alive(lease);
      lock.lock();
      // Not answered: again soon, so that a short outage costs no lease. Gone: the member's
      // thread joins again (a lease that expires during an outage is found here when it ends).
      if (!ttl) pause = std::chrono::milliseconds(500);
      if (ttl && ttl.value() == 0) lost_lease_.store(lease);
    }
    renew_wake_.wait_for(lock, pause, [&] { return renew_stop_; });
  }
}

void FleetMember::note_etcd_failure(const Status& failure) {
  {
    std::lock_guard lock(mutex_);
    connected_ = false;
  }
  if (unreachable_said_) return;
  unreachable_said_ = true;
  size_t running = 0;
  {
    std::lock_guard lock(mutex_);
    running = running_.size();
  }
  warn(fmt::format("{}; keeping the {} camera(s) running here and trying again", failure.message(),
                   running));
}

void FleetMember::note_etcd_back() {
  {
    std::lock_guard lock(mutex_);
    connected_ = true;
  }
  if (!unreachable_said_) return;
  unreachable_said_ = false;
  say(fmt::format("etcd at {} answers again", options_.address.endpoint));
}

std::string FleetMember::registration() const {
  FleetWorkerRecord me;
  me.id = options_.worker_id;
  me.api = options_.api;
  me.capacity_fps = options_.capacity_fps;
  me.started_unix = static_cast<int64_t>(std::time(nullptr));
  return worker_record_value(me);
}

bool FleetMember::ensure_registered() {
  if (lease_ != 0) return true;
  auto lease = etcd_.grant_lease(options_.ttl_s);
  if (!lease) {
    note_etcd_failure(lease.status());
    return false;
  }
  auto took = etcd_.put_if_free(options_.address.workers() + options_.worker_id, registration(),
                                lease.value());
  if (!took || !took.value()) {
    (void)etcd_.revoke_lease(lease.value());
    if (!took) {
      note_etcd_failure(took.status());
    } else if (!id_taken_) {
      id_taken_ = true;
      // At the start, join() says it as the command's error.
      if (in_loop_) {
        warn(
            fmt::format("the worker id {} is held by another live worker; trying again every "
                        "second",
                        options_.worker_id));
      }
    }
    return false;
  }
  id_taken_ = false;
  note_etcd_back();
  lease_ = lease.value();
  settled_at_ = now() + std::chrono::seconds(options_.ttl_s);
  last_revision_ = -1;  // read everything again
  say(fmt::format("{} joined {} at {} (lease {:x}, TTL {} s, capacity {:.0f} frames/s)",
                  options_.worker_id, options_.address.prefix, options_.address.endpoint,
                  lease_.load(), options_.ttl_s, options_.capacity_fps));
  return true;
}

void FleetMember::loop() {
  in_loop_ = true;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    const bool answered = round();
    lock.lock();
    // Unanswered: again in a second, not at the poll's pace (a dead etcd is asked less).
    const auto pause = answered ? options_.poll : std::chrono::milliseconds(1000);
    wake_.wait_for(lock, pause, [&] { return stopping_ || woken_; });
    if (woken_) last_revision_ = -1;
    woken_ = false;
  }
}

bool FleetMember::round() {
  if (lease_ != 0 && lost_lease_.load() == lease_) {
    size_t running = 0;
    {
      std::lock_guard lock(mutex_);
      running = running_.size();
    }
    warn(
        fmt::format("the lease of {} expired while etcd was out of reach; joining again and "
                    "re-checking the {} camera(s) running here before anything moves",
                    options_.worker_id, running));
    lease_ = 0;
    unclaim_.clear();  // the expired lease's keys are gone with it
  }
  if (!ensure_registered()) return false;
  auto revision = etcd_.revision();
  if (!revision) {
    note_etcd_failure(revision.status());
    return false;
  }
  note_etcd_back();
  // Read again when something changed, when a plan made while settling may now take more, when
  // an owner key is still to be given back or a camera's pause ended, and every full_read.
  const bool settled_since = planned_settling_ && now() >= settled_at_;
  bool retry_due = false;
  for (const auto& [name, retry] : retry_) retry_due = retry_due || now() >= retry.at;
  const auto ended = callbacks_.ended ? callbacks_.ended() : std::map<std::string, std::string>();
  bool ended_here = false;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, why] : ended) ended_here = ended_here || running_.count(name) > 0;
  }
  if (revision.value() == last_revision_ && unclaim_.empty() && !settled_since && !retry_due &&
      !ended_here && now() < next_full_read_) {
    return true;
  }
  int64_t read_revision = 0;
  auto keys = etcd_.range(options_.address.prefix, &read_revision);
  if (!keys) {
    note_etcd_failure(keys.status());
    return false;
  }
  next_full_read_ = now() + options_.full_read;
  FleetView view = read_fleet_view(options_.address, keys.value(), read_revision);
  {
    std::lock_guard lock(mutex_);
    view_ = view;
  }
  // Registered under our lease, or put back (someone deleted the key by hand): without it the
  // others do not count this worker, and its plan would be empty.
  bool listed = false;
  for (const auto& w : view.workers)
    listed = listed || (w.id == options_.worker_id && w.lease == lease_);
  if (!listed) {
    auto put =
        etcd_.put_if_free(options_.address.workers() + options_.worker_id, registration(), lease_);
    if (!put) {
      note_etcd_failure(put.status());
      return false;
    }
    if (!put.value()) {
      warn(fmt::format("the worker id {} is held by another lease", options_.worker_id));
    }
    return true;  // the put moved the revision: the next round reads it
  }
  if (!act(view, ended)) return false;
  last_revision_ = read_revision;
  return true;
}

void FleetMember::release(const std::string& name) {
  bool was_running = false;
  {
    std::lock_guard lock(mutex_);
    was_running = running_.count(name) > 0;
  }
  if (was_running) {
    callbacks_.stop(name);
    std::lock_guard lock(mutex_);
    running_.erase(name);
  }
  // Its owner key goes now, not after the round's other releases: the next owner may start it
  // as soon as it stopped here (a round that hands several cameras over would otherwise hold
  // each until the slowest stopped). Not answered: given back in a later round.
  auto removed = etcd_.remove_if_held(options_.address.owners() + name, lease_);
  if (!removed) {
    note_etcd_failure(removed.status());
    unclaim_.insert(name);
  }
}

void FleetMember::retry_later(const std::string& name, const std::string& value) {
  auto found = retry_.find(name);
  const auto pause = found == retry_.end() || found->second.value != value
                         ? options_.first_retry
                         : std::min<std::chrono::seconds>(kLastRetry, found->second.pause * 2);
  retry_[name] = {value, now() + pause, pause};
}

bool FleetMember::act(const FleetView& view, const std::map<std::string, std::string>& ended) {
  std::map<std::string, std::string> values;
  for (const auto& camera : view.cameras) values[camera.name] = camera.value;
  std::set<std::string> running;
  std::map<std::string, std::string> started_with;
  {
    std::lock_guard lock(mutex_);
    started_with = running_;
  }
  for (const auto& [name, value] : started_with) {
    if (stopping()) return true;
    const auto listed = values.find(name);
    const auto why = ended.find(name);
    if (listed != values.end() && listed->second != value) {
      // A camera whose entry changed runs again with the new one: stopped here, claimed below.
      say(fmt::format("camera {} changed: restarting it", name));
    } else if (why != ended.end()) {
      // Ended or failed here: given back for a while, then tried again (by whoever owns it).
      retry_later(name, value);
      say(fmt::format("camera {}: {}; giving it back, trying again in {} s", name,
                      excerpt(why->second), retry_[name].pause.count()));
      release(name);
      continue;
    } else {
      running.insert(name);
      continue;
    }
    callbacks_.stop(name);
    std::lock_guard lock(mutex_);
    running_.erase(name);
  }
  const bool settling = now() < settled_at_;
  planned_settling_ = settling;
  const FleetPlan plan = plan_fleet(view, options_.worker_id, lease_, running, settling);
  for (const auto& name : plan.release) {
    if (stopping()) return true;
    if (running.count(name)) {
      say(fmt::format(
          "camera {}: given up ({})", name,
          values.count(name) ? "another worker's share now" : "taken off the fleet's list"));
    }
    release(name);
  }
  // Owner keys not given back when their cameras stopped (etcd did not answer then).
  for (auto it = unclaim_.begin(); it != unclaim_.end();) {
    auto removed = etcd_.remove_if_held(options_.address.owners() + *it, lease_);
    if (!removed) {
      note_etcd_failure(removed.status());
      return false;
    }
    it = unclaim_.erase(it);
  }
  for (const auto& name : plan.claim) {
    if (stopping()) return true;
    const std::string& value = values[name];
    const auto refused = refused_.find(name);
    if (refused != refused_.end() && refused->second == value) continue;  // said once already
    const auto retry = retry_.find(name);
    if (retry != retry_.end() && retry->second.value == value && now() < retry->second.at) continue;
    if (Status ok = callbacks_.check(name, value); !ok) {
      warn(fmt::format("camera {}: {} (not run until its entry changes)", name, ok.message()));
      refused_[name] = value;
      if (running.count(name)) release(name);
      continue;
    }
    std::string holder;
    auto took =
        etcd_.put_if_free(options_.address.owners() + name, options_.worker_id, lease_, &holder);
    if (!took) {
      note_etcd_failure(took.status());
      return false;
    }
    const bool runs_here = running.count(name) > 0;
    if (!took.value()) {
      if (runs_here) {
        say(fmt::format("camera {}: {} holds it now; stopping it here", name, excerpt(holder)));
        callbacks_.stop(name);
        std::lock_guard lock(mutex_);
        running_.erase(name);
      }
      continue;
    }
    if (runs_here) continue;
    if (Status started = callbacks_.start(name, value); !started) {
      retry_later(name, value);
      warn(fmt::format("camera {}: {} (trying again in {} s)", name, started.message(),
                       retry_[name].pause.count()));
      unclaim_.insert(name);
      continue;
    }
    refused_.erase(name);
    std::lock_guard lock(mutex_);
    running_[name] = value;
  }
  // A pause whose camera left the list, or whose entry changed, is over.
  std::erase_if(retry_, [&](const auto& entry) {
    const auto listed = values.find(entry.first);
    return listed == values.end() || listed->second != entry.second.value;
  });
  for (const auto& name : plan.waiting) {
    const auto held = view.owners.find(name);
    const std::string holder = held == view.owners.end() ? "" : excerpt(held->second.worker);
    if (waiting_said_[name] == holder) continue;
    waiting_said_[name] = holder;
    say(fmt::format("camera {}: ours now, waiting for {} to give it up", name, holder));
  }
  return true;
}

nlohmann::json FleetMember::describe() const {
  std::lock_guard lock(mutex_);
  std::map<std::string, std::vector<std::string>> runs;
  for (const auto& [camera, owner] : view_.owners) runs[owner.worker].push_back(camera);
  nlohmann::json workers = nlohmann::json::array();
  double capacity = 0;
  for (const auto& w : view_.workers) capacity += std::max(0.0, w.capacity_fps);
  for (const auto& w : view_.workers) {
    const auto& cameras = runs[w.id];
    workers.push_back(
        {{"id", w.id},
         {"api", w.api},
         {"capacity_fps", w.capacity_fps},
         {"capacity_share", capacity > 0 ? w.capacity_fps / capacity : 0.0},
         {"cameras", cameras},
         {"load", view_.cameras.empty() ? 0.0
                                        : static_cast<double>(cameras.size()) /
                                              static_cast<double>(view_.cameras.size())},
         {"started_unix", w.started_unix}});
  }
  nlohmann::json cameras = nlohmann::json::array();
  nlohmann::json unowned = nlohmann::json::array();
  for (const auto& c : view_.cameras) {
    const auto owner = view_.owners.find(c.name);
    cameras.push_back(
        {{"name", c.name},
         {"entry", c.value},
         {"owner", owner == view_.owners.end() ? nlohmann::json(nullptr)
                                               : nlohmann::json(owner->second.worker)}});
    if (owner == view_.owners.end()) unowned.push_back(c.name);
  }
  nlohmann::json here = nlohmann::json::array();
  for (const auto& [name, value] : running_) here.push_back(name);
  return {{"worker", options_.worker_id},
          {"etcd", options_.address.endpoint},
          {"prefix", options_.address.prefix},
          {"connected", connected_},
          {"revision", view_.revision},
          {"workers", workers},
          {"cameras", cameras},
          {"unowned", unowned},
          {"running_here", here},
          {"ignored_keys", view_.ignored},
          {"etcd_requests", etcd_.requests() + renew_etcd_.requests()}};
}

}  // namespace streaminfer
