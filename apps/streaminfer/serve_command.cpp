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

#include "commands.h"
#include "common/console.h"
#include "common/reload_signal.h"
#include "common/stop_request.h"
#include "engine_setup.h"
#include "infer/backend.h"
#include "service/http_api.h"
#include "service/serve_config.h"
#include "service/service_metrics.h"
#include "service/stream_request.h"

namespace streaminfer::app {

namespace {

// A stream counts as delivering while its last result is at most this old.
constexpr double kReadyWithinSeconds = 5;
constexpr auto kControlInterval = std::chrono::milliseconds(100);

// The service's state shared by the API's threads, the control thread and the command.
class Service {
 public:
  explicit Service(std::optional<ServeConfig> config) : config_(std::move(config)) {}

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
  ApiResult<nlohmann::json> reload();

 private:
  static ApiError loading() { return {503, "the model is loading; try again in a moment"}; }
  ApiResult<StreamState> add(const StreamSpec& spec);  // requires streams_mutex_
  std::optional<StreamState> state_of(int id);

  std::shared_ptr<ServiceMetrics> metrics_ = std::make_shared<ServiceMetrics>();
  mutable std::mutex mutex_;  // guards engine_ and what_
  Engine* engine_ = nullptr;
  ServiceDescription what_;
  // Serialises adding, removing and reloading, so a name is checked and taken in one step.
  std::mutex streams_mutex_;
  std::optional<ServeConfig> config_;
  std::map<std::string, int> config_ids_;  // the config's streams running now, by key
};

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
    return metrics_->prometheus(engine_->pipeline().streams(), what_,
                                engine_->pipeline().batches_done());
  };
  h.not_ready = [this]() -> std::string {
    std::lock_guard lock(mutex_);
    if (!engine_) return "the model is loading";
    for (const auto& s : engine_->pipeline().streams()) {
      if (!s.removed && s.seconds_since_result >= 0 &&
          s.seconds_since_result <= kReadyWithinSeconds) {
        return {};
      }
    }
    return fmt::format("no stream delivered a frame in the last {:g} s", kReadyWithinSeconds);
  };
  h.reload = [this] { return reload(); };
  return h;
}

ApiResult<nlohmann::json> Service::reload() {
  std::lock_guard streams_lock(streams_mutex_);
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
  nlohmann::json result = {{"added", nlohmann::json::array()},
                           {"removed", nlohmann::json::array()},
                           {"restarted", nlohmann::json::array()},
                           {"needs_restart", plan.needs_restart},
                           {"errors", nlohmann::json::array()}};
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
  std::fprintf(info_out(), "reload: %zu added, %zu removed, %zu restarted%s\n", plan.added.size(),
               plan.removed.size(), plan.changed.size(),
               plan.needs_restart.empty() ? ""
                                          : fmt::format("; changed settings need a restart: {}",
                                                        fmt::join(plan.needs_restart, ", "))
                                                .c_str());
  std::fflush(info_out());
  return result;
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
        "--listen {}: an address other than loopback needs --api-token-file FILE (every route "
        "but /healthz then wants 'Authorization: Bearer TOKEN'); or listen on 127.0.0.1",
        serve.listen));
    return 2;
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

  Service service(std::move(config));
  auto api = ApiServer::start(address.value(), token, service.handlers());
  if (!api) {
    print_error(api.status().message());
    return 2;
  }
  std::fprintf(info_out(), "listening on http://%s:%d (%s)\n", address.value().host.c_str(),
               api.value()->port(), token.empty() ? "no token: loopback only" : "bearer token");
  std::fflush(info_out());

  auto loaded = Engine::load(std::move(options), stop, /*service=*/true);
  if (const int* code = std::get_if<int>(&loaded)) return *code;
  Engine& engine = *std::get<std::unique_ptr<Engine>>(loaded);
  if (auto failed = engine.open(streams, {service.metrics()}); failed) return *failed;
  service.remember_config_streams({streams.begin(), streams.begin() + config_streams}, 0);
  const ModelInfo& model = engine.model();
  service.publish(engine,
                  {STREAMINFER_VERSION, model.name, precision_name(model), engine.options().device,
                   model.input_width, model.input_height, engine.options().batch_size});

  // Reloads asked for by SIGHUP, taken every 100 ms until the run ends.
  std::mutex control_mutex;
  std::condition_variable control_wake;
  bool control_done = false;
  std::thread control([&] {
    std::unique_lock lock(control_mutex);
    while (!control_wake.wait_for(lock, kControlInterval, [&] { return control_done; })) {
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
  service.retire();
  api.value()->stop();
  if (const int code = engine.finish(stats); code != 0 || !stats) return code;
  return engine.exit_code(stats.value());
}

}  // namespace streaminfer::app
