#include "pipeline/mqtt_output.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "common/console.h"
#include "sink/mqtt_uri.h"
#include "streaminfer/clock.h"

namespace streaminfer {

namespace {

// The stats message period, and how long closing waits for the queues to drain.
constexpr double kStatsIntervalSeconds = 1.0;
constexpr auto kFlushTimeout = std::chrono::seconds(2);
// How long open() waits for the first connection attempt before warning that the broker is not
// there (a refused connection answers at once; an unanswered one takes this long).
constexpr auto kFirstAttemptWait = std::chrono::seconds(1);

std::chrono::milliseconds time_left(std::chrono::steady_clock::time_point deadline) {
  return std::max(std::chrono::milliseconds(0),
                  std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now()));
}

}  // namespace

Status MqttOutput::open() {
  for (const auto& uri : uris_) {
    auto parsed = parse_mqtt_uri(uri);
    if (!parsed) return parsed.status();
    auto sink = MqttSink::open(std::move(parsed.value()));
    if (!sink) return sink.status();
    sinks_.push_back(std::move(sink.value()));
  }
  // Connect all at once, then say which brokers are not there; the run goes on either way. One
  // deadline for all: brokers that do not answer delay the start by a second, not one each.
  const auto deadline = std::chrono::steady_clock::now() + kFirstAttemptWait;
  for (const auto& sink : sinks_) {
    if (sink->wait_first_attempt(time_left(deadline))) continue;
    const MqttSinkCounters c = sink->counters();
    std::fprintf(stderr,
                 "streaminfer: warning: --sink '%s': broker not reachable (%s); detections are "
                 "queued (at most %zu, then the oldest are dropped) and published once it is\n",
                 sink->uri().uri.c_str(),
                 c.last_error.empty() ? "no answer yet" : c.last_error.c_str(), sink->uri().queue);
  }
  return Status::ok();
}

Status MqttOutput::start(int64_t run_start_ns, int /*num_streams*/) {
  run_start_ns_ = run_start_ns;
  return Status::ok();
}

void MqttOutput::on_batch(const Batch& batch, const BatchContext& context) {
  for (size_t i = 0; i < batch.frames.size(); ++i) {
    for (const auto& sink : sinks_) sink->publish(MqttSink::Channel::kEvents, context.line(i));
  }
}

void MqttOutput::on_queue_sample(int64_t ts_ns, const std::vector<StreamQueueSample>& samples) {
  // Every sample, not only when a message is due: a stream that leaves keeps its last counts in
  // the totals.
  std::vector<StreamCounts> running;
  running.reserve(samples.size());
  for (const auto& s : samples) running.push_back({s.stream_id, s.done, s.dropped});
  const StatsSnapshot now = totals_.sample(ms_between(run_start_ns_, ts_ns) / 1000.0, running);
  if (now.time_s - last_stats_.time_s < kStatsIntervalSeconds) return;
  for (const auto& sink : sinks_) {
    sink->publish(MqttSink::Channel::kStats,
                  stats_message(now, last_stats_, false, sink->counters()).dump());
  }
  last_stats_ = now;
}

Status MqttOutput::close(const RunStats& stats, nlohmann::json& summary) {
  if (sinks_.empty()) return Status::ok();
  // The final message covers the whole run, with the summary's own numbers.
  StatsSnapshot final_stats, run_start;
  final_stats.time_s = stats.wall_seconds;
  for (const auto& s : stats.streams) {
    final_stats.streams.push_back({s.stream_id, s.frames_done, s.dropped});
    final_stats.frames_done += s.frames_done;
    final_stats.dropped += s.dropped;
  }
  for (const auto& sink : sinks_) {
    sink->publish(MqttSink::Channel::kStats,
                  stats_message(final_stats, run_start, true, sink->counters()).dump());
  }
  // One flush deadline for all of them: ten brokers that are down wait 2 s, not 20.
  const auto deadline = std::chrono::steady_clock::now() + kFlushTimeout;
  nlohmann::json block = nlohmann::json::array();
  for (const auto& sink : sinks_) {
    const MqttSinkCounters c = sink->close(time_left(deadline));
    nlohmann::json entry = to_json(c);
    entry["uri"] = sink->uri().uri;
    block.push_back(std::move(entry));
    std::fprintf(
        info_out(),
        "sink %s: %lld of %lld messages published, %lld dropped (queue full), %lld lost on "
        "disconnect, %lld unsent at exit, %lld reconnect(s)%s%s\n",
        sink->uri().uri.c_str(), static_cast<long long>(c.published),
        static_cast<long long>(c.accepted), static_cast<long long>(c.dropped),
        static_cast<long long>(c.lost), static_cast<long long>(c.unsent),
        static_cast<long long>(c.reconnects()), c.connects == 0 ? ", never connected: " : "",
        c.connects == 0 ? c.last_error.c_str() : "");
  }
  summary["sinks"] = std::move(block);
  return Status::ok();
}

}  // namespace streaminfer
