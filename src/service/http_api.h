#pragma once
// The service's HTTP JSON API (cpp-httplib, Debian's libcpp-httplib): the routes, the bearer
// token, the limits and the one-line JSON errors. What each route does is given by ApiHandlers
// (the serve command wires them to the pipeline), so the routes and their error answers are
// tested without a model.
//   GET    /healthz         200 while the process answers
//   GET    /readyz          200 when ready to serve, else 503 with why
//   (these two and /metrics need no token: Kubernetes probes and Prometheus send none)
//   GET    /streams         the streams (removed ones not listed)
//   POST   /streams         {"uri", "name", "sample_fps", "every_nth"} -> 201 {"id", ...}
//   GET    /streams/{id}    one stream (404 when unknown or removed)
//   DELETE /streams/{id}    stops it; 200 with its final counts
//   GET    /stats           what the live display shows, as JSON
//   GET    /metrics         Prometheus text format
//   POST   /reload          re-reads the config file and applies the difference
// A fleet worker (serve --fleet) also answers:
//   GET    /fleet                  the workers, their capacity, the cameras each runs
//   DELETE /fleet/streams/{name}   takes a camera off the fleet's list (whichever worker runs it)
// and POST /streams puts the camera on the fleet's list (202: the fleet decides where it runs).
// Errors: {"error": "one line"} with 400 (malformed JSON, unknown keys, bad values), 401 (no or
// wrong token), 404, 405, 409 (a name taken, no config to reload), 411 (a POST without
// Content-Length), 413 (body over 1 MiB), 415 (a POST whose Content-Type is not
// application/json: what a browser page could send without asking), 503.
#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/pipeline.h"
#include "streaminfer/status.h"

namespace streaminfer {

// A handler's failure: the HTTP status and the one-line message.
struct ApiError {
  int status = 400;
  std::string message;
};

template <typename T>
using ApiResult = std::variant<T, ApiError>;

struct ApiHandlers {
  std::function<std::vector<StreamState>()> streams;
  std::function<ApiResult<StreamState>(const StreamSpec&)> add_stream;
  std::function<ApiResult<StreamState>(int id)> remove_stream;
  std::function<nlohmann::json()> stats;
  std::function<std::string()> metrics;
  // Empty when ready, else why not.
  std::function<std::string()> not_ready;
  std::function<ApiResult<nlohmann::json>()> reload;
  // A fleet worker's; unset otherwise (GET /fleet then answers 404, POST /streams adds here).
  std::function<nlohmann::json()> fleet;
  std::function<ApiResult<nlohmann::json>(const StreamSpec&)> add_fleet_camera;
  std::function<ApiResult<nlohmann::json>(const std::string& name)> remove_fleet_camera;
};

struct ListenAddress {
  std::string host;
  int port = 0;  // 0: any free port (the server says which)
  bool loopback = false;
};
// "HOST:PORT" or "[IPv6]:PORT"; errors say what is accepted.
Result<ListenAddress> parse_listen_address(const std::string& text);
// The token in FILE (surrounding whitespace removed); errors when unreadable or empty.
Result<std::string> read_api_token(const std::string& path);

class ApiServer {
 public:
  // Binds now (an address in use or not allowed fails here, naming it) and serves on its own
  // threads. An empty token: no authentication (loopback only; the caller checks).
  static Result<std::unique_ptr<ApiServer>> start(const ListenAddress& address, std::string token,
                                                  ApiHandlers handlers);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  int port() const { return port_; }
  // Stops accepting and waits for the listener's thread.
  void stop();

 private:
  struct Impl;
  ApiServer();
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace streaminfer
