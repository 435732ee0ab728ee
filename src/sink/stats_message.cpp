#include "sink/stats_message.h"

#include <cmath>

namespace streaminfer {
namespace {

double rounded(double value, double scale) { return std::round(value * scale) / scale; }

}  // namespace

nlohmann::json stats_message(const StatsSnapshot& now, const StatsSnapshot& previous, bool final,
                             const MqttSinkCounters& sink) {
  const double interval = now.time_s - previous.time_s;
  auto fps = [interval](int64_t frames) {
    return interval > 0 ? rounded(static_cast<double>(frames) / interval, 100) : 0.0;
  };
  std::map<int, int64_t> before;
  for (const auto& s : previous.streams) before[s.stream] = s.frames_done;
  nlohmann::json streams = nlohmann::json::array();
  for (const auto& s : now.streams) {
    const auto was = before.find(s.stream);
    const int64_t since = s.frames_done - (was == before.end() ? 0 : was->second);
    streams.push_back({{"stream", s.stream},
                       {"frames", s.frames_done},
                       {"fps", fps(since)},
                       {"dropped", s.dropped}});
  }
  return {{"time_s", rounded(now.time_s, 1000)},
          {"interval_s", rounded(interval, 1000)},
          {"final", final},
          {"frames", now.frames_done},
          {"fps", fps(now.frames_done - previous.frames_done)},
          {"dropped", now.dropped},
          {"streams", streams},
          {"sink", to_json(sink)}};
}

StatsSnapshot StatsTotals::sample(double time_s, const std::vector<StreamCounts>& running) {
  std::map<int, StreamCounts> now;
  for (const auto& s : running) now[s.stream] = s;
  for (const auto& [id, last] : running_) {
    if (now.count(id)) continue;
    left_frames_ += last.frames_done;
    left_dropped_ += last.dropped;
  }
  running_ = std::move(now);
  StatsSnapshot snapshot;
  snapshot.time_s = time_s;
  snapshot.frames_done = left_frames_;
  snapshot.dropped = left_dropped_;
  for (const auto& [id, s] : running_) {
    snapshot.streams.push_back(s);
    snapshot.frames_done += s.frames_done;
    snapshot.dropped += s.dropped;
  }
  return snapshot;
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
