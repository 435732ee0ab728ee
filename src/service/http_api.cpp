#include "service/http_api.h"

#include <fmt/format.h>
#include <httplib.h>

#include <arpa/inet.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "service/stream_request.h"

namespace streaminfer {

namespace {

// A slow or silent client holds one of the server's threads for at most this long.
constexpr time_t kReadTimeoutSeconds = 5;

// /streams/{id}: one more path segment after /streams/. (Not std::regex: GCC 12's -O1 sanitizer
// builds warn inside its automaton, and this needs none.)
bool is_stream_path(const std::string& path) {
  const std::string prefix = "/streams/";
  return path.size() > prefix.size() && path.rfind(prefix, 0) == 0 &&
         path.find('/', prefix.size()) == std::string::npos;
}

// /fleet/streams/{name}: one more path segment.
bool is_fleet_stream_path(const std::string& path) {
  const std::string prefix = "/fleet/streams/";
  return path.size() > prefix.size() && path.rfind(prefix, 0) == 0 &&
         path.find('/', prefix.size()) == std::string::npos;
}

std::string json_text(const nlohmann::json& j) {
  // Text from users (URIs of a YAML file) may not be UTF-8: replaced, never a throw.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

void reply(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(json_text(body), "application/json");
}

void reply_error(httplib::Response& res, int status, const std::string& message) {
  reply(res, status, {{"error", message}});
}

// Which methods a path answers, for 405 against 404.
std::vector<std::string> methods_of(const std::string& path) {
  if (path == "/healthz" || path == "/readyz" || path == "/stats" || path == "/metrics") {
    return {"GET"};
  }
  if (path == "/streams") return {"GET", "POST"};
  if (path == "/reload") return {"POST"};
  if (path == "/fleet") return {"GET"};
  if (is_fleet_stream_path(path)) return {"DELETE"};
  if (is_stream_path(path)) return {"GET", "DELETE"};
  return {};
}

// Compares in time independent of where the first difference is.
bool same_token(const std::string& given, const std::string& expected) {
  if (given.size() != expected.size() || expected.empty()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < given.size(); ++i) {
    diff |= static_cast<unsigned char>(given[i] ^ expected[i]);
  }
  return diff == 0;
}

std::string status_text(int status) {
  switch (status) {
    case 400:
      return "bad request (not HTTP this server can read)";
    case 413:
      return fmt::format("the body is over {} bytes", kMaxRequestBytes);
    case 411:
      return "a Content-Length is needed";
    case 414:
      return "the URI is too long";
    case 431:
      return "the request's headers are too large";
    default:
      return fmt::format("HTTP {}", status);
  }
}

std::optional<int> parse_id(const std::string& text) {
  if (text.empty() || text.size() > 9) return std::nullopt;
  int id = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    id = id * 10 + (c - '0');
  }
  return id;
}

template <typename T>
bool answered_error(httplib::Response& res, const ApiResult<T>& result) {
  if (const auto* error = std::get_if<ApiError>(&result)) {
    reply_error(res, error->status, error->message);
    return true;
  }
  return false;
}

}  // namespace

Result<ListenAddress> parse_listen_address(const std::string& text) {
  ListenAddress address;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find("]:");
    if (close == std::string::npos) {
      return Status::error(fmt::format("--listen '{}': give [IPv6]:PORT", text));
    }
    address.host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) {
      return Status::error(fmt::format(
          "--listen '{}': give HOST:PORT, e.g. 127.0.0.1:8080 (port 0: any free port)", text));
    }
    address.host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  const auto number = parse_id(port);
  if (!number || *number > 65535 || address.host.empty()) {
    return Status::error(fmt::format(
        "--listen '{}': give HOST:PORT with a port from 0 to 65535, e.g. 127.0.0.1:8080", text));
  }
  address.port = *number;
  in_addr v4{};
  in6_addr v6{};
  if (address.host == "localhost") {
    address.loopback = true;
  } else if (inet_pton(AF_INET, address.host.c_str(), &v4) == 1) {
    address.loopback = (ntohl(v4.s_addr) >> 24) == 127;
  } else if (inet_pton(AF_INET6, address.host.c_str(), &v6) == 1) {
    address.loopback = IN6_IS_ADDR_LOOPBACK(&v6);
  } else {
    return Status::error(
        fmt::format("--listen '{}': '{}' is not an IP address (or localhost)", text, address.host));
  }
  return address;
}

Result<std::string> read_api_token(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return Status::error(fmt::format("--api-token-file '{}': cannot be read", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  std::string token = text.str();
  const auto first = token.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) {
    return Status::error(fmt::format(
        "--api-token-file '{}': the file is empty; put the token (a long random string) in it",
        path));
  }
  token = token.substr(first, token.find_last_not_of(" \t\r\n") - first + 1);
  if (token.find_first_of(" \t\r\n") != std::string::npos) {
    return Status::error(
        fmt::format("--api-token-file '{}': the token holds white space; use one word", path));
  }
  return token;
}

struct ApiServer::Impl {
  httplib::Server server;
  std::thread listener;
  std::string token;
  ApiHandlers handlers;

  void routes();
};

void ApiServer::Impl::routes() {
  server.set_payload_max_length(kMaxRequestBytes);
  server.set_read_timeout(kReadTimeoutSeconds, 0);
  server.set_write_timeout(kReadTimeoutSeconds, 0);
  server.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (req.method == "POST") {
      // A body of unknown length would be read whole before the 1 MiB check.
      if (!req.has_header("Content-Length")) {
        reply_error(res, 411, "a POST needs a Content-Length (chunked bodies are not taken)");
        return httplib::Server::HandlerResponse::Handled;
      }
      // Only JSON: a web page in a browser on this machine can send a form or text/plain POST
      // to 127.0.0.1 without asking first, never an application/json one.
      if (req.get_header_value("Content-Type").rfind("application/json", 0) != 0) {
        reply_error(res, 415,
                    "send the body as JSON: Content-Type: application/json (curl -H 'Content-Type: "
                    "application/json')");
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    // Probes and Prometheus's scrape by annotation cannot send a secret; none of the three
    // routes shows a URI (which may carry a camera's password) or changes anything.
    if (token.empty() || req.path == "/healthz" || req.path == "/readyz" ||
        req.path == "/metrics") {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    const std::string given = req.get_header_value("Authorization");
    const std::string prefix = "Bearer ";
    if (given.rfind(prefix, 0) == 0 && same_token(given.substr(prefix.size()), token)) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    res.set_header("WWW-Authenticate", "Bearer");
    reply_error(res, 401, "missing or wrong bearer token (Authorization: Bearer TOKEN)");
    return httplib::Server::HandlerResponse::Handled;
  });
  server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr error) {
        std::string what = "unknown error";
        try {
          std::rethrow_exception(error);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        reply_error(res, 500, "internal error: " + what);
      });
  // Answers httplib gives itself (413, 400 for a request it cannot parse) get a JSON body too.
  server.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        reply_error(res, res.status, status_text(res.status));
        return httplib::Server::HandlerResponse::Handled;
      }));

  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    reply(res, 200, {{"alive", true}});
  });
  server.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    const std::string why = handlers.not_ready();
    if (why.empty()) {
      reply(res, 200, {{"ready", true}});
    } else {
      reply(res, 503, {{"ready", false}, {"why", why}});
    }
  });
  server.Get("/streams", [this](const httplib::Request&, httplib::Response& res) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& s : handlers.streams()) {
      if (!s.removed) list.push_back(stream_state_json(s));
    }
    reply(res, 200, {{"streams", std::move(list)}});
  });
  server.Post("/streams", [this](const httplib::Request& req, httplib::Response& res) {
    auto spec = parse_stream_request(req.body);
    if (!spec) return reply_error(res, 400, spec.status().message());
    if (handlers.add_fleet_camera) {
      const auto listed = handlers.add_fleet_camera(spec.value());
      if (answered_error(res, listed)) return;
      return reply(res, 202, std::get<nlohmann::json>(listed));
    }
    const auto added = handlers.add_stream(spec.value());
    if (answered_error(res, added)) return;
    const StreamState& state = std::get<StreamState>(added);
    res.set_header("Location", fmt::format("/streams/{}", state.id));
    reply(res, 201, stream_state_json(state));
  });
  server.Get(R"(/streams/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    const auto id = parse_id(req.matches[1]);
    if (id) {
      for (const auto& s : handlers.streams()) {
        if (s.id == *id && !s.removed) return reply(res, 200, stream_state_json(s));
      }
    }
    reply_error(res, 404,
                fmt::format("no stream '{}' (GET /streams lists them)",
                            std::string(req.matches[1]).substr(0, 40)));
  });
  server.Delete(R"(/streams/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    const auto id = parse_id(req.matches[1]);
    if (!id) {
      return reply_error(res, 404,
                         fmt::format("no stream '{}' (GET /streams lists them)",
                                     std::string(req.matches[1]).substr(0, 40)));
    }
    const auto removed = handlers.remove_stream(*id);
    if (answered_error(res, removed)) return;
    reply(res, 200, stream_state_json(std::get<StreamState>(removed)));
  });
  server.Get("/stats", [this](const httplib::Request&, httplib::Response& res) {
    reply(res, 200, handlers.stats());
  });
  server.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.status = 200;
    res.set_content(handlers.metrics(), "text/plain; version=0.0.4; charset=utf-8");
  });
  server.Post("/reload", [this](const httplib::Request&, httplib::Response& res) {
    const auto reloaded = handlers.reload();
    if (answered_error(res, reloaded)) return;
    reply(res, 200, std::get<nlohmann::json>(reloaded));
  });
  const std::string not_in_fleet = "not a fleet worker (serve --fleet etcd://HOST:PORT/PREFIX)";
  server.Get("/fleet", [this, not_in_fleet](const httplib::Request&, httplib::Response& res) {
    if (!handlers.fleet) return reply_error(res, 404, not_in_fleet);
    reply(res, 200, handlers.fleet());
  });
  server.Delete(R"(/fleet/streams/([^/]+))",
                [this, not_in_fleet](const httplib::Request& req, httplib::Response& res) {
                  if (!handlers.remove_fleet_camera) return reply_error(res, 404, not_in_fleet);
                  const auto removed = handlers.remove_fleet_camera(req.matches[1]);
                  if (answered_error(res, removed)) return;
                  reply(res, 200, std::get<nlohmann::json>(removed));
                });
  // Everything else: 405 for a path that exists with another method, 404 otherwise.
  const auto other = [](const httplib::Request& req, httplib::Response& res) {
    const auto methods = methods_of(req.path);
    if (methods.empty()) {
      return reply_error(res, 404, "no such route (see the README's API section)");
    }
    std::string allowed;
    for (const auto& m : methods) allowed += (allowed.empty() ? "" : ", ") + m;
    res.set_header("Allow", allowed);
    reply_error(res, 405, fmt::format("{} is not allowed here; use {}", req.method, allowed));
  };
  server.Get(".*", other);
  server.Post(".*", other);
  server.Put(".*", other);
  server.Patch(".*", other);
  server.Delete(".*", other);
  server.Options(".*", other);
}

ApiServer::ApiServer() : impl_(std::make_unique<Impl>()) {}

ApiServer::~ApiServer() { stop(); }

Result<std::unique_ptr<ApiServer>> ApiServer::start(const ListenAddress& address, std::string token,
                                                    ApiHandlers handlers) {
  std::unique_ptr<ApiServer> api(new ApiServer());
  Impl& m = *api->impl_;
  m.token = std::move(token);
  m.handlers = std::move(handlers);
  m.routes();
  if (address.port == 0) {
    api->port_ = m.server.bind_to_any_port(address.host);
  } else if (m.server.bind_to_port(address.host, address.port)) {
    api->port_ = address.port;
  } else {
    api->port_ = -1;
  }
  if (api->port_ <= 0) {
    return Status::error(fmt::format(
        "--listen {}:{}: cannot listen there (in use by another process, or not an address of "
        "this machine); give another port",
        address.host, address.port));
  }
  m.listener = std::thread([&m] { m.server.listen_after_bind(); });
  return api;
}

void ApiServer::stop() {
  if (!impl_) return;
  impl_->server.stop();
  if (impl_->listener.joinable()) impl_->listener.join();
}

}  // namespace streaminfer
