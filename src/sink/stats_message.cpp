#include "sink/stats_message.h"

#include <cmath>

namespace streaminfer {
namespace {

int64_t at(const std::vector<int64_t>& values, size_t i) {
  return i < values.size() ? values[i] : 0;
}

double rounded(double value, double scale) { return std::round(value * scale) / scale; }

}  // namespace

nlohmann::json stats_message(const StatsSnapshot& now, const StatsSnapshot& previous, bool final,
                             const MqttSinkCounters& sink) {
  const double interval = now.time_s - previous.time_s;
  auto fps = [interval](int64_t frames) {
    return interval > 0 ? rounded(static_cast<double>(frames) / interval, 100) : 0.0;
  };
  nlohmann::json streams = nlohmann::json::array();
  int64_t frames = 0, frames_before = 0, dropped = 0;
  for (size_t i = 0; i < now.frames_done.size(); ++i) {
    const int64_t done = at(now.frames_done, i);
    streams.push_back({{"stream", i},
                       {"frames", done},
                       {"fps", fps(done - at(previous.frames_done, i))},
                       {"dropped", at(now.dropped, i)}});
    frames += done;
    frames_before += at(previous.frames_done, i);
    dropped += at(now.dropped, i);
  }
  return {{"time_s", rounded(now.time_s, 1000)},
          {"interval_s", rounded(interval, 1000)},
          {"final", final},
          {"frames", frames},
          {"fps", fps(frames - frames_before)},
          {"dropped", dropped},
          {"streams", streams},
          {"sink", to_json(sink)}};
}

nlohmann::json to_json(const MqttSinkCounters& c) {
  return {{"accepted", c.accepted},
          {"published", c.published},
          {"queued", c.queued},
          {"dropped", c.dropped},
          {"lost", c.lost},
          {"failed", c.failed},
          {"unsent", c.unsent},
          {"connects", c.connects},
          {"reconnects", c.reconnects()},
          {"connected", c.connected},
          {"last_error", c.last_error}};
}

}  // namespace streaminfer
