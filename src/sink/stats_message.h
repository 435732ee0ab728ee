#pragma once
// The periodic stats message of the MQTT sink (topic `<topic>/stats`), one JSON object:
// {"time_s":12.0,"interval_s":1.0,"final":false,"frames":357,"fps":29.9,"dropped":3,
//  "streams":[{"stream":0,"frames":357,"fps":29.9,"dropped":3}],
//  "sink":{"published":356,"queued":1,"dropped":0,"lost":0,"failed":0,"reconnects":0,...}}
// frames and dropped count from the start of the run; fps is over the interval since the last
// message (the whole run in the final one, sent when the run ends).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

#include "sink/mqtt_sink.h"

namespace streaminfer {

struct StatsSnapshot {
  double time_s = 0;                 // since the run started
  std::vector<int64_t> frames_done;  // per stream: frames with a result
  std::vector<int64_t> dropped;      // per stream: dropped by the overflow policy
};

nlohmann::json stats_message(const StatsSnapshot& now, const StatsSnapshot& previous, bool final,
                             const MqttSinkCounters& sink);

// The sink's counters, as in the stats message and the summary JSON's "sinks" block.
nlohmann::json to_json(const MqttSinkCounters& counters);

}  // namespace streaminfer
