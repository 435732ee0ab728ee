#include "sink/mqtt_uri.h"

#include <fmt/format.h>

#include "source/uri_query.h"

namespace streaminfer {
namespace {

constexpr std::string_view kScheme = "mqtt://";

Status bad(const std::string& uri, const std::string& what) {
  return Status::error(
      fmt::format("--sink '{}': {} (expected mqtt://host[:port]/topic[?qos=0|1&client_id=ID&"
                  "queue=N])",
                  uri, what));
}

Result<int> parse_port(const std::string& uri, const std::string& text) {
  if (text.empty() || text.size() > 5 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return bad(uri, fmt::format("port '{}' is not a number from 1 to 65535", text));
  }
  const int port = std::stoi(text);
  if (port < 1 || port > 65535) {
    return bad(uri, fmt::format("port '{}' is not a number from 1 to 65535", text));
  }
  return port;
}

// host[:port], host may be "[ipv6]".
Status parse_authority(const std::string& authority, MqttUri& out) {
  const std::string& uri = out.uri;
  if (authority.find('@') != std::string::npos) {
    return bad(uri, "user names and passwords in the uri are not supported");
  }
  std::string port_text;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string::npos) return bad(uri, "'[' without ']' around the IPv6 address");
    out.host = authority.substr(1, close - 1);
    const std::string rest = authority.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return bad(uri, "unexpected text after ']'");
    if (!rest.empty()) port_text = rest.substr(1);
    if (rest == ":") return bad(uri, "empty port after ':'");
  } else {
    const size_t colon = authority.find(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return bad(uri, "empty port after ':'");
    }
  }
  if (out.host.empty()) return bad(uri, "no broker host");
  if (!port_text.empty()) {
    auto port = parse_port(uri, port_text);
    if (!port) return port.status();
    out.port = port.value();
  }
  return Status::ok();
}

}  // namespace

bool is_mqtt_uri(const std::string& uri) { return uri.rfind(kScheme, 0) == 0; }

Result<MqttUri> parse_mqtt_uri(const std::string& uri) {
  MqttUri out;
  out.uri = uri;
  if (!is_mqtt_uri(uri)) return bad(uri, "only mqtt:// sinks are supported");
  auto query = parse_uri_query(uri, {"qos", "client_id", "queue"});
  if (!query) return Status::error("--sink: " + query.status().message());
  const std::string rest = query.value().base.substr(kScheme.size());
  const size_t slash = rest.find('/');
  if (slash == std::string::npos) return bad(uri, "no topic");
  SI_RETURN_IF_ERROR(parse_authority(rest.substr(0, slash), out));
  out.topic = rest.substr(slash + 1);
  if (out.topic.empty()) return bad(uri, "empty topic");
  // Publishing to a wildcard is a protocol error: the broker would drop the connection.
  if (out.topic.find_first_of("+#") != std::string::npos) {
    return bad(uri, fmt::format("topic '{}' has a wildcard ('+' or '#')", out.topic));
  }
  auto qos = query.value().get_int("qos", 0, 0, 1);
  if (!qos) return Status::error("--sink: " + qos.status().message());
  out.qos = static_cast<int>(qos.value());
  auto queue = query.value().get_int("queue", 1000, 1, 1000000);
  if (!queue) return Status::error("--sink: " + queue.status().message());
  out.queue = static_cast<size_t>(queue.value());
  if (query.value().has("client_id")) {
    out.client_id = query.value().values.at("client_id");
    if (out.client_id.empty()) return bad(uri, "empty client_id");
  }
  return out;
}

}  // namespace streaminfer
