// `streaminfer serve`: the run's engine as a long-running service. The API server binds before
// the model loads (a port in use fails in a second, and /healthz answers during the load); the
// routes answer 503 until the pipeline runs. Streams come from the config (`streams:` and
// `source:`), the command line (--source) and the API; a reload (SIGHUP, POST /reload) applies
// the config's new stream list; SIGTERM or Ctrl-C drains like run's stop and exits.
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <unistd.h>

#include "commands.h"
#include "common/console.h"
#include "common/reload_signal.h"
#include "common/stop_request.h"
#include "config/run_option_table.h"
#include "engine_setup.h"
#include "fleet/fleet_member.h"
#include "infer/backend.h"
#include "service/fleet_camera.h"
#include "service/http_api.h"
#include "service/serve_config.h"
#include "service/service_metrics.h"
#include "service/stream_request.h"

namespace streaminfer::app {

namespace {

// A stream counts as delivering while its last result is at most this old.
constexpr double kReadyWithinSeconds = 5;
constexpr auto kControlInterval = std::chrono::milliseconds(100);

// A fleet worker's own families, labelled like the others with its id.
std::string fleet_metrics(const nlohmann::json& fleet, const std::string& worker) {
  PrometheusText out({{"worker", worker}});
  out.family("streaminfer_fleet_connected", "gauge",
             "1 while the worker's etcd answers, 0 while it keeps its cameras without it");
  out.sample("streaminfer_fleet_connected", {}, fleet.value("connected", false) ? 1 : 0);
  out.family("streaminfer_fleet_etcd_requests_total", "counter",
             "Requests this worker's fleet member sent to etcd");
  out.sample("streaminfer_fleet_etcd_requests_total", {},
             static_cast<double>(fleet.value("etcd_requests", int64_t{0})));
  out.family("streaminfer_fleet_workers", "gauge", "Live workers of the fleet, as last read");
  out.sample("streaminfer_fleet_workers", {}, static_cast<double>(fleet["workers"].size()));
  out.family("streaminfer_fleet_cameras", "gauge", "Cameras on the fleet's list, as last read");
  out.sample("streaminfer_fleet_cameras", {}, static_cast<double>(fleet["cameras"].size()));
  out.family("streaminfer_fleet_cameras_unowned", "gauge",
             "Cameras of the fleet that no worker holds, as last read");
  out.sample("streaminfer_fleet_cameras_unowned", {}, static_cast<double>(fleet["unowned"].size()));
  return out.text();
}

// What /stats and /metrics say of the running model.
ServiceDescription describe(Engine& engine, const std::string& worker_id) {
  const ModelInfo& model = engine.model();
  return {STREAMINFER_VERSION,         model.name,        precision_name(model),
          engine.options().device,     model.input_width, model.input_height,
          engine.options().batch_size, worker_id};
}

// The service's state shared by the API's threads, the control thread and the command.
class Service {
 public:
  Service(std::optional<ServeConfig> config, std::optional<FleetAddress> fleet)
      : config_(std::move(config)), fleet_(std::move(fleet)) {}

  // Once the pipeline runs; before, the routes that need it answer 503.
  void publish(Engine& engine, ServiceDescription what) {
    std::lock_guard lock(mutex_);
    what_ = std::move(what);
    engine_ = &engine;
  }
  void retire() {
    std::lock_guard lock(mutex_);
    engine_ = nullptr;
  }
  const std::shared_ptr<ServiceMetrics>& metrics() const { return metrics_; }

  ApiHandlers handlers();
  // Config streams (`streams:`/`source:` of the file) started at the beginning, by key.
  void remember_config_streams(const std::vector<StreamSpec>& specs, int first_id) {
    std::lock_guard lock(streams_mutex_);
    for (size_t i = 0; i < specs.size(); ++i) {
      config_ids_[stream_key(specs[i])] = first_id + static_cast<int>(i);
    }
  }
  // Applies the config file's changes: its streams, then (unless one is being built already) a
  // new model when a key that picks it changed. `stop`: no model is changed once it is set.
  ApiResult<nlohmann::json> reload();
  void set_stop(const StopRequest* stop) { stop_ = stop; }

  // A fleet worker: what its member asks of it (on the member's thread).
  FleetCallbacks fleet_callbacks(const StopRequest& stop);
  void set_member(FleetMember* member) {
    std::lock_guard lock(mutex_);
    member_ = member;
  }

 private:
  static ApiError loading() { return {503, "the model is loading; try again in a moment"}; }
  ApiResult<StreamState> add(const StreamSpec& spec);  // requires streams_mutex_
  // The model keys of the file changed: builds the new model (seconds, without streams_mutex_:
  // the API adds and removes streams meanwhile) and says in `result` what happened.
  // Only the keys that changed in the file are taken from it: the others stay the running
  // model's (a flag on the command line outranks the file's value).
  void change_model(Engine& engine, const RunOptions& file, const std::vector<std::string>& keys,
                    nlohmann::json& result);
  void wake_member() {
    std::lock_guard lock(mutex_);
    if (member_) member_->wake();
  }
  std::optional<StreamState> state_of(int id);

  std::shared_ptr<ServiceMetrics> metrics_ = std::make_shared<ServiceMetrics>();
  mutable std::mutex mutex_;  // guards engine_ and what_
  Engine* engine_ = nullptr;
  ServiceDescription what_;
  // Serialises adding, removing and reloading, so a name is checked and taken in one step.
  std::mutex streams_mutex_;
  std::optional<ServeConfig> config_;
  std::map<std::string, int> config_ids_;  // the config's streams running now, by key
  std::optional<FleetAddress> fleet_;
  FleetMember* member_ = nullptr;  // guarded by mutex_; set while the member runs
  // Held while a new model is built: a second reload meanwhile leaves the model to the first.
  std::mutex model_mutex_;
  const StopRequest* stop_ = nullptr;
};

FleetCallbacks Service::fleet_callbacks(const StopRequest& stop) {
  FleetCallbacks callbacks;
  callbacks.check = [](const std::string& name, const std::string& entry) {
    return fleet_camera_spec(name, entry).status();
  };
  callbacks.start = [this, &stop](const std::string& name, const std::string& entry) -> Status {
    if (stop.requested()) return Status::error("the worker is draining");
    auto spec = fleet_camera_spec(name, entry);
    if (!spec) return spec.status();
    std::lock_guard lock(streams_mutex_);
    const auto added = add(spec.value());
    if (const auto* error = std::get_if<ApiError>(&added)) return Status::error(error->message);
    return Status::ok();
  };
  callbacks.ended = [this] {
    std::map<std::string, std::string> ended;
    std::lock_guard lock(mutex_);
    if (!engine_) return ended;
    for (const auto& s : engine_->pipeline().streams()) {
      if (!s.removed && s.status != "ok" && s.status != "opening") ended[s.name] = s.status;
    }
    return ended;
  };
  callbacks.stop = [this](const std::string& name) {
    std::lock_guard streams_lock(streams_mutex_);
    Engine* engine = nullptr;
    {
      std::lock_guard lock(mutex_);
      engine = engine_;
    }
    if (!engine) return;
    for (const auto& s : engine->pipeline().streams()) {
      if (s.removed || s.name != name) continue;
      auto removed = engine->pipeline().remove_stream(s.id);
      if (removed) {
        std::fprintf(info_out(), "stream %d: %s stopped here after %lld frame(s)\n", s.id,
                     name.c_str(), static_cast<long long>(removed.value().done));
        std::fflush(info_out());
      }
    }
  };
  return callbacks;
}

std::optional<StreamState> Service::state_of(int id) {
  std::lock_guard lock(mutex_);
  if (!engine_) return std::nullopt;
  const auto all = engine_->pipeline().streams();
  if (id < 0 || static_cast<size_t>(id) >= all.size()) return std::nullopt;
  return all[static_cast<size_t>(id)];
}

ApiResult<StreamState> Service::add(const StreamSpec& spec) {
  Engine* engine = nullptr;
  {
    std::lock_guard lock(mutex_);
    engine = engine_;
  }
  if (!engine) return loading();
  if (!spec.name.empty()) {
    for (const auto& s : engine->pipeline().streams()) {
      if (!s.removed && s.name == spec.name) {
        return ApiError{409, fmt::format("the name '{}' is taken by stream {}; give another or "
                                         "DELETE /streams/{} first",
                                         spec.name, s.id, s.id)};
      }
    }
  }
  auto id = engine->pipeline().add_stream(spec);
  if (!id) return ApiError{503, id.status().message()};
  std::fprintf(info_out(), "stream %d: %s added (%s)\n", id.value(), spec.uri.c_str(),
               spec.name.empty() ? "no name" : spec.name.c_str());
  std::fflush(info_out());
  auto state = state_of(id.value());
  if (!state) return loading();
  return *state;
}

ApiHandlers Service::handlers() {
  ApiHandlers h;
  h.streams = [this] {
    std::lock_guard lock(mutex_);
    return engine_ ? engine_->pipeline().streams() : std::vector<StreamState>{};
  };
  h.add_stream = [this](const StreamSpec& spec) {
    std::lock_guard lock(streams_mutex_);
    return add(spec);
  };
  h.remove_stream = [this](int id) -> ApiResult<StreamState> {
    if (fleet_) {
      return ApiError{409,
                      "a fleet worker's streams come from the fleet's list: DELETE "
                      "/fleet/streams/NAME (any worker) stops the camera wherever it runs"};
    }
    std::lock_guard streams_lock(streams_mutex_);
    Engine* engine = nullptr;
    {
      std::lock_guard lock(mutex_);
      engine = engine_;
    }
    if (!engine) return loading();
    auto removed = engine->pipeline().remove_stream(id);
    if (!removed) return ApiError{404, removed.status().message() + " (GET /streams lists them)"};
    std::erase_if(config_ids_, [id](const auto& entry) { return entry.second == id; });
    std::fprintf(info_out(), "stream %d: removed after %lld frame(s)\n", id,
                 static_cast<long long>(removed.value().done));
    std::fflush(info_out());
    return removed.value();
  };
  h.stats = [this] {
    std::lock_guard lock(mutex_);
    if (!engine_) return nlohmann::json{{"loading", true}};
    return metrics_->stats_json(engine_->pipeline().streams(), what_,
                                engine_->pipeline().batches_done());
  };
  h.metrics = [this] {
    std::lock_guard lock(mutex_);
    if (!engine_) return metrics_->prometheus({}, what_, 0);
    std::string text = metrics_->prometheus(engine_->pipeline().streams(), what_,
                                            engine_->pipeline().batches_done());
    if (member_) text += fleet_metrics(member_->describe(), what_.worker);
    return text;
  };
  h.not_ready = [this]() -> std::string {
    std::lock_guard lock(mutex_);
    if (!engine_) return "the model is loading";
    // A fleet worker is ready to take cameras once it is a member, with or without any.
    if (fleet_) return member_ && member_->connected() ? "" : "not connected to the fleet's etcd";
    for (const auto& s : engine_->pipeline().streams()) {
      if (!s.removed && s.seconds_since_result >= 0 &&
          s.seconds_since_result <= kReadyWithinSeconds) {
        return {};
      }
    }
    return fmt::format("no stream delivered a frame in the last {:g} s", kReadyWithinSeconds);
  };
  h.reload = [this] { return reload(); };
  if (!fleet_) return h;
  h.fleet = [this] {
    std::lock_guard lock(mutex_);
    if (!member_) return nlohmann::json{{"joining", true}};
    return member_->describe();
  };
  h.add_fleet_camera = [this](const StreamSpec& spec) -> ApiResult<nlohmann::json> {
    if (spec.name.empty()) {
      return ApiError{400, "a fleet's camera needs a \"name\": its key in the fleet's list"};
    }
    const std::string key = fleet_->streams() + spec.name;
    const std::string entry = fleet_camera_entry(spec);
    EtcdClient etcd(fleet_->endpoint);
    auto created = etcd.create(key, entry);
    if (!created) return ApiError{503, created.status().message()};
    if (!created.value()) {
      return ApiError{409, fmt::format("camera {} is on the fleet's list already; DELETE "
                                       "/fleet/streams/{} first",
                                       spec.name, spec.name)};
    }
    wake_member();
    return nlohmann::json{{"name", spec.name},
                          {"key", key},
                          {"entry", entry},
                          {"where", "GET /fleet says which worker runs it"}};
  };
  h.remove_fleet_camera = [this](const std::string& name) -> ApiResult<nlohmann::json> {
    if (Status valid = check_fleet_name(name, "camera"); !valid) {
      return ApiError{404, valid.message()};
    }
    EtcdClient etcd(fleet_->endpoint);
    auto removed = etcd.remove(fleet_->streams() + name);
    if (!removed) return ApiError{503, removed.status().message()};
    if (removed.value() == 0) {
      return ApiError{
          404, fmt::format("no camera {} on the fleet's list (GET /fleet lists them)", name)};
    }
    wake_member();
    return nlohmann::json{{"name", name}, {"removed", true}};
  };
  return h;
}

ApiResult<nlohmann::json> Service::reload() {
  if (fleet_) {
    return ApiError{409, fmt::format("a fleet worker's cameras are the keys {}NAME in etcd: put "
                                     "or delete them (etcdctl, POST /streams, DELETE "
                                     "/fleet/streams/NAME); nothing was changed",
                                     fleet_->streams())};
  }
  std::unique_lock streams_lock(streams_mutex_);
  if (!config_) return ApiError{409, "serve was started without --config: nothing to read again"};
  auto loaded = load_serve_config(config_->run.config);
  if (!loaded) return ApiError{400, loaded.status().message() + " (nothing was changed)"};
  Engine* engine = nullptr;
  {
    std::lock_guard lock(mutex_);
    engine = engine_;
  }
  if (!engine) return loading();
  const ReloadPlan plan = plan_reload(*config_, loaded.value());
  nlohmann::json result = {
      {"added", nlohmann::json::array()},     {"removed", nlohmann::json::array()},
      {"restarted", nlohmann::json::array()}, {"model_changed", plan.model_changed},
      {"needs_restart", plan.needs_restart},  {"errors", nlohmann::json::array()}};
  const auto stop_one = [&](const std::string& key) {
    const auto at = config_ids_.find(key);
    if (at == config_ids_.end()) return;
    (void)engine->pipeline().remove_stream(at->second);  // already removed through the API: fine
    config_ids_.erase(at);
  };
  std::set<std::string> not_started;
  const auto start_one = [&](const StreamSpec& spec, const char* list) {
    auto added = add(spec);
    if (const auto* error = std::get_if<ApiError>(&added)) {
      result["errors"].push_back(stream_key(spec) + ": " + error->message);
      not_started.insert(stream_key(spec));
      return;
    }
    config_ids_[stream_key(spec)] = std::get<StreamState>(added).id;
    result[list].push_back({{"key", stream_key(spec)}, {"id", std::get<StreamState>(added).id}});
  };
  for (const auto& key : plan.removed) {
    stop_one(key);
    result["removed"].push_back(key);
  }
  for (const auto& spec : plan.changed) {
    stop_one(stream_key(spec));
    start_one(spec, "restarted");
  }
  for (const auto& spec : plan.added) start_one(spec, "added");
  // The running settings stay what they were, so a later reload says again what still differs;
  // a stream that could not start is left out, so the next reload tries it again.
  config_->streams.clear();
  for (const auto& spec : loaded.value().streams) {
    if (!not_started.count(stream_key(spec))) config_->streams.push_back(spec);
  }
  std::fprintf(
      info_out(), "reload: %zu added, %zu removed, %zu restarted%s%s\n", plan.added.size(),
      plan.removed.size(), plan.changed.size(),
      plan.model_changed.empty()
          ? ""
          : fmt::format("; the model changes ({})", fmt::join(plan.model_changed, ", ")).c_str(),
      plan.needs_restart.empty() ? ""
                                 : fmt::format("; changed settings need a restart: {}",
                                               fmt::join(plan.needs_restart, ", "))
                                       .c_str());
  std::fflush(info_out());
  if (plan.model_changed.empty()) return result;
  streams_lock.unlock();
  change_model(*engine, loaded.value().run, plan.model_changed, result);
  return result;
}

void Service::change_model(Engine& engine, const RunOptions& file,
                           const std::vector<std::string>& keys, nlohmann::json& result) {
  std::unique_lock model_lock(model_mutex_, std::try_to_lock);
  if (!model_lock.owns_lock()) {
    result["errors"].push_back(
        "model: an earlier reload is building a model; reload again once it is done");
    return;
  }
  if (stop_ && stop_->requested()) {
    result["errors"].push_back("model: the service is stopping; the model was not changed");
    return;
  }
  RunOptions wanted = engine.options();
  for (const auto& key : keys) copy_run_option(*find_run_option(key), file, wanted);
  auto changed = engine.change_model(wanted);
  if (!changed) {
    const std::string error = changed.status().message() + " (the running model is kept)";
    std::fprintf(stderr, "streaminfer: error: reload: %s\n", error.c_str());
    result["errors"].push_back("model: " + error);
    return;
  }
  std::fprintf(info_out(), "reload: %s\n", changed.value().c_str());
  std::fflush(info_out());
  result["model"] = changed.value();
  {
    std::lock_guard lock(mutex_);
    if (engine_) what_ = describe(engine, what_.worker);
  }
  // The running settings are now the file's for the model's keys: a later reload compares with
  // them (the others still wait for a restart).
  std::lock_guard streams_lock(streams_mutex_);
  for (const auto& key : keys) copy_run_option(*find_run_option(key), file, config_->run);
}

// HOSTNAME:PORT: unique among the workers of one machine (one port each) and stable across a
// worker's restarts, as a Kubernetes pod's name is.
std::string default_worker_id(int port) {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') {
    std::snprintf(host, sizeof(host), "worker");
  }
  std::string id = host;
  for (char& c : id) {
    const bool allowed = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!allowed) c = '-';
  }
  return fmt::format("{}:{}", id, port);
}

// The address other workers and people reach this one's API at: the host it listens on, or
// this machine's name when it listens on every address.
std::string api_host(const ListenAddress& address) {
  if (address.host != "0.0.0.0" && address.host != "::" && !address.host.empty()) {
    return address.host.find(':') != std::string::npos ? "[" + address.host + "]" : address.host;
  }
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') return "localhost";
  return host;
}

}  // namespace

int serve_command(RunOptions options, const ServeOptions& serve,
                  std::optional<ServeConfig> config) {
  StopRequest& stop = process_stop_request();
  install_stop_signals(stop);
  install_reload_signal();
  set_stdout_carries_data(options.output == "-");
  auto address = parse_listen_address(serve.listen);
  if (!address) {
    print_error(address.status().message());
    return 2;
  }
  std::string token;
  if (!serve.api_token_file.empty()) {
    auto read = read_api_token(serve.api_token_file);
    if (!read) {
      print_error(read.status().message());
      return 2;
    }
    token = std::move(read.value());
  } else if (!address.value().loopback) {
    print_error(fmt::format(
        "--listen {}: an address other than loopback needs --api-token-file FILE (the routes "
        "that read or change streams then want 'Authorization: Bearer TOKEN'); or listen on "
        "127.0.0.1",
        serve.listen));
    return 2;
  }
  std::optional<FleetAddress> fleet;
  if (!serve.fleet.empty()) {
    auto parsed = parse_fleet_address(serve.fleet);
    if (!parsed) {
      print_error(parsed.status().message());
      return 2;
    }
    if (!options.sources.empty() || (config && !config->streams.empty())) {
      print_error(fmt::format(
          "--fleet: a fleet worker's cameras are the keys {}NAME in etcd, not --source or the "
          "config's streams: put them there (etcdctl put {}NAME URI, or POST /streams)",
          parsed.value().streams(), parsed.value().streams()));
      return 2;
    }
    fleet = std::move(parsed.value());
  }
  if (!options.shard.empty()) {
    print_error(
        "--shard: serve takes its streams from --config, --source and its API; split "
        "cameras over workers with several configs (or, later, --fleet)");
    return 2;
  }
  // The config's streams first, then --source: ids 0.. in that order.
  std::vector<StreamSpec> streams = config ? config->streams : std::vector<StreamSpec>{};
  const size_t config_streams = streams.size();
  for (const auto& uri : options.sources) {
    if (Status valid = check_stream_uri(uri); !valid) {
      print_error("--source: " + valid.message());
      return 2;
    }
    streams.emplace_back(uri);
  }
  if (config) options.config = config->run.config;
  options.sources.clear();
  for (const auto& spec : streams) options.sources.push_back(spec.uri);
  options.progress = false;  // a service's display is GET /stats

  Service service(std::move(config), fleet);
  auto api = ApiServer::start(address.value(), token, service.handlers());
  if (!api) {
    print_error(api.status().message());
    return 2;
  }
  std::fprintf(info_out(), "listening on http://%s:%d (%s)\n", address.value().host.c_str(),
               api.value()->port(), token.empty() ? "no token: loopback only" : "bearer token");
  std::fflush(info_out());

  const std::string worker_id = !fleet                     ? ""
                                : !serve.worker_id.empty() ? serve.worker_id
                                                           : default_worker_id(api.value()->port());
  if (fleet) {
    if (Status valid = check_fleet_name(worker_id, "--worker-id"); !valid) {
      print_error(valid.message());
      return 2;
    }
  }

  auto loaded = Engine::load(std::move(options), stop, /*service=*/true);
  if (const int* code = std::get_if<int>(&loaded)) return *code;
  Engine& engine = *std::get<std::unique_ptr<Engine>>(loaded);
  if (auto failed = engine.open(streams, {service.metrics()}, worker_id); failed) return *failed;
  service.remember_config_streams({streams.begin(), streams.begin() + config_streams}, 0);
  service.set_stop(&stop);  // before publish(), whose lock hands it to the API's threads
  service.publish(engine, describe(engine, worker_id));

  std::unique_ptr<FleetMember> member;
  if (fleet) {
    FleetMemberOptions member_options;
    member_options.address = *fleet;
    member_options.worker_id = worker_id;
    member_options.api =
        fmt::format("http://{}:{}", api_host(address.value()), api.value()->port());
    member_options.capacity_fps = engine.measure_capacity_fps();
    member_options.ttl_s = serve.fleet_ttl;
    auto joined = FleetMember::join(member_options, service.fleet_callbacks(stop));
    if (!joined) {
      print_error(joined.status().message());
      // Nothing may reach the engine once this returns (the API's threads answer until stopped).
      service.retire();
      api.value()->stop();
      return 2;
    }
    member = std::move(joined.value());
    service.set_member(member.get());
  }

  // Reloads asked for by SIGHUP, taken every 100 ms until the run ends.
  std::mutex control_mutex;
  std::condition_variable control_wake;
  bool control_done = false;
  std::thread control([&] {
    std::unique_lock lock(control_mutex);
    while (!control_wake.wait_for(lock, kControlInterval, [&] { return control_done; })) {
      // Draining: no camera is claimed or started any more; the lease goes once they stopped.
      if (member && stop.requested()) member->stop_claiming();
      if (take_reload_requests() == 0 || stop.requested()) continue;
      const auto result = service.reload();
      if (const auto* error = std::get_if<ApiError>(&result)) {
        std::fprintf(stderr, "streaminfer: error: reload (SIGHUP): %s\n", error->message.c_str());
      }
    }
  });
  auto stats = engine.pipeline().run();
  {
    std::lock_guard lock(control_mutex);
    control_done = true;
  }
  control_wake.notify_all();
  control.join();
  if (member) {
    service.set_member(nullptr);
    member->leave();
  }
  service.retire();
  api.value()->stop();
  if (const int code = engine.finish(stats); code != 0 || !stats) return code;
  return engine.exit_code(stats.value());
}

}  // namespace streaminfer::app
