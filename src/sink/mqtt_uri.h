#pragma once
// The MQTT sink's address: mqtt://host[:port]/topic[?qos=0|1&client_id=ID&queue=N].
// Per-frame detections go to `topic`, the periodic stats message to `topic/stats`.
#include <cstddef>
#include <string>

#include "streaminfer/status.h"

namespace streaminfer {

struct MqttUri {
  std::string uri;   // as given, for messages
  std::string host;  // name or address; "[v6]" brackets removed
  int port = 1883;
  std::string topic;      // without the leading '/'; never empty, never a wildcard
  int qos = 0;            // 0: at most once (published = written to the socket); 1: acknowledged
  std::string client_id;  // empty: the sink makes a unique one
  size_t queue = 1000;    // messages kept while the broker is away; past it the oldest is dropped
};

// One-line errors that name the uri and say what is expected.
Result<MqttUri> parse_mqtt_uri(const std::string& uri);

// Whether `uri` names a sink of this kind (starts with "mqtt://").
bool is_mqtt_uri(const std::string& uri);

}  // namespace streaminfer
