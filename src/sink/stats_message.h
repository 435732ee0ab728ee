#pragma once
// The periodic stats message of the MQTT sink (topic `<topic>/stats`), one JSON object:
// {"time_s":12.0,"interval_s":1.0,"final":false,"frames":357,"fps":29.9,"dropped":3,
//  "streams":[{"stream":0,"frames":357,"fps":29.9,"dropped":3}],
//  "sink":{"published":356,"queued":1,"dropped":0,"lost":0,"failed":0,"reconnects":0,...}}
// frames and dropped count from the start of the run, the streams that stopped included; fps is
// over the interval since the last message (the whole run in the final one, sent when the run
// ends). "streams" lists the streams running at the time (a service's come and go; the final
// message lists every stream of the run).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <vector>

#include "sink/mqtt_sink.h"

namespace streaminfer {

// One stream's counts at a moment.
struct StreamCounts {
  int stream = 0;
  int64_t frames_done = 0;  // frames with a result
  int64_t dropped = 0;      // dropped by the overflow policy
};

struct StatsSnapshot {
  double time_s = 0;                  // since the run started
  std::vector<StreamCounts> streams;  // the streams running then
  // The run's: every stream's, those no longer running included.
  int64_t frames_done = 0, dropped = 0;
};

// A stream's fps is over its frames since `previous` (all of them for a stream that was not in
// it).
nlohmann::json stats_message(const StatsSnapshot& now, const StatsSnapshot& previous, bool final,
                             const MqttSinkCounters& sink);

// Snapshots of the streams running at each sample, with the run's totals: a stream that is no
// longer in a sample (removed, or ended) keeps its last counts in the totals.
class StatsTotals {
 public:
  StatsSnapshot sample(double time_s, const std::vector<StreamCounts>& running);

 private:
  std::map<int, StreamCounts> running_;  // by stream id, as last sampled
  int64_t left_frames_ = 0, left_dropped_ = 0;
};

// The sink's counters, as in the stats message and the summary JSON's "sinks" block.
nlohmann::json to_json(const MqttSinkCounters& counters);

}  // namespace streaminfer
