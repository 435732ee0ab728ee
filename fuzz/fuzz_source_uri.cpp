// The URIs users give for sources and sinks: the generic query parser, the synthetic camera's
// options (read without drawing a frame), the MQTT sink's address and a fleet's etcd:// address.
// Beyond "no crash, no UB", what a parser accepts must be what its callers rely on.
#include <cmath>
#include <cstdint>
#include <set>
#include <string>

#include "fleet/fleet_address.h"
#include "fuzz_support.h"
#include "sink/mqtt_uri.h"
#include "source/synthetic_uri.h"
#include "source/uri_query.h"

using streaminfer::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string uri(reinterpret_cast<const char*>(data), size);

  static const std::set<std::string> kKeys = {"a", "width", "fps", "qos"};
  auto query = streaminfer::parse_uri_query(uri, kKeys);
  if (query) {
    for (const auto& [key, value] : query.value().values) check(kKeys.count(key) == 1, "known key");
    auto whole = query.value().get_int("width", 7, -5, 5000);
    if (whole) check(whole.value() == 7 || (whole.value() >= -5 && whole.value() <= 5000), "range");
    auto number = query.value().get_double("fps", 0.5, 0.01, 1000);
    if (number) check(std::isfinite(number.value()), "finite double");
  }

  auto synthetic = streaminfer::parse_synthetic_uri(uri);
  if (synthetic) {
    const auto& p = synthetic.value();
    check(p.width >= 16 && p.width <= 8192 && p.height >= 16 && p.height <= 8192, "frame size",
          uri);
    check(p.fps >= 0.01 && p.fps <= 1000 && p.objects >= 0 && p.frames >= 0, "synthetic ranges",
          uri);
  }

  auto mqtt = streaminfer::parse_mqtt_uri(uri);
  if (mqtt) {
    const auto& m = mqtt.value();
    check(!m.host.empty() && m.port >= 1 && m.port <= 65535, "broker address", uri);
    check(!m.topic.empty() && m.topic.find_first_of("+#") == std::string::npos, "topic", uri);
    check((m.qos == 0 || m.qos == 1) && m.queue >= 1, "qos and queue", uri);
  }
  auto fleet = streaminfer::parse_fleet_address(uri);
  if (fleet) {
    const auto& f = fleet.value();
    check(f.endpoint.rfind("http://", 0) == 0 && f.prefix.size() >= 2 && f.prefix.back() == '/',
          "fleet address", uri);
    check(f.prefix.front() != '/' && f.prefix.find("//") == std::string::npos, "prefix", uri);
  } else {
    const std::string message = fleet.status().message();
    check(message.find('\n') == std::string::npos && message.find('\r') == std::string::npos,
          "fleet errors are one line", message);
  }
  return 0;
}
