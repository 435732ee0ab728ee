// `streaminfer run --sink mqtt://...` end to end against a real mosquitto broker that the test
// starts on a free loopback port: every frame of the JSONL is published as the same line, stats
// messages arrive, the counters reach stdout and the summary JSON; a broker that is down only
// costs a warning; a broker killed and restarted mid-run does not stop inference, and publishing
// resumes.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "mosquitto_broker.h"
#include "run_command.h"

namespace streaminfer::test {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

constexpr auto kWait = 20s;

std::string sink_uri(int port, const std::string& topic) {
  return fmt::format("mqtt://127.0.0.1:{}/{}", port, topic);
}

json summary_json(const fs::path& dir) {
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().filename().string().rfind("S_", 0) == 0) {
      return json::parse(read_file(entry.path()));
    }
  }
  ADD_FAILURE() << "no S_*_summary.json in " << dir;
  return json::object();
}

// Every message the sink accepted is accounted for exactly once at the end of a QoS 0 run.
void expect_accounted(const json& sink) {
  EXPECT_EQ(sink["accepted"].get<int64_t>(),
            sink["published"].get<int64_t>() + sink["dropped"].get<int64_t>() +
                sink["lost"].get<int64_t>() + sink["failed"].get<int64_t>() +
                sink["unsent"].get<int64_t>())
      << sink.dump();
}

TEST(MqttSinkRun, EveryJsonlLineIsPublishedAndStatsArrive) {
  MosquittoBroker broker;
  ASSERT_EQ(broker.start(), "");
  MqttSubscriber subscriber(broker.port(), "si/test/#");
  ASSERT_EQ(subscriber.connect_error(), "");
  ASSERT_TRUE(subscriber.wait_subscriptions(1, kWait));

  TempDir dir;
  const fs::path jsonl = dir / "x.jsonl";
  const std::string uri = sink_uri(broker.port(), "si/test");
  CommandResult r = run_command(
      streaminfer_run({"--source", synthetic_uri(320, 240, 20), "--pace", "max", "--sink", uri,
                       "--output", jsonl.string(), "--metrics-dir", (dir / "metrics").string()}));
  ASSERT_EQ(r.exit_code, 0) << r.describe();

  const std::vector<std::string> lines = read_lines(jsonl);
  ASSERT_EQ(lines.size(), 20u);
  // The run flushed before exiting; delivery to the subscriber may still be under way.
  ASSERT_TRUE(subscriber.wait_until(
      [&](const auto& m) {
        return count_on(m, "si/test") >= lines.size() && count_on(m, "si/test/stats") >= 1;
      },
      kWait))
      << "events " << subscriber.payloads("si/test").size() << " of " << lines.size() << ", stats "
      << subscriber.payloads("si/test/stats").size();
  const std::vector<std::string> events = subscriber.payloads("si/test");
  EXPECT_EQ(std::multiset<std::string>(events.begin(), events.end()),
            std::multiset<std::string>(lines.begin(), lines.end()))
      << "the events are not the JSONL lines";

  const std::vector<std::string> stats = subscriber.payloads("si/test/stats");
  const json last = json::parse(stats.back());
  EXPECT_EQ(last["final"], true) << stats.back();
  EXPECT_EQ(last["frames"], 20) << stats.back();
  ASSERT_EQ(last["streams"].size(), 1u) << stats.back();
  EXPECT_EQ(last["streams"][0]["frames"], 20) << stats.back();
  for (const auto& s : stats) EXPECT_TRUE(json::parse(s).contains("fps")) << s;

  EXPECT_TRUE(has_line_with_all(r.out, {"sink " + uri, "published", "0 dropped"})) << r.describe();
  const json summary = summary_json(dir / "metrics");
  ASSERT_TRUE(summary.contains("sinks")) << summary.dump();
  const json& sink = summary["sinks"][0];
  EXPECT_EQ(sink["uri"], uri);
  EXPECT_EQ(sink["published"].get<size_t>(), lines.size() + stats.size()) << sink.dump();
  EXPECT_EQ(sink["dropped"], 0);
  expect_accounted(sink);
}

TEST(MqttSinkRun, BrokerDownIsAWarningAndTheRunCompletes) {
  const int port = free_loopback_port();  // nothing listens there
  TempDir dir;
  const fs::path jsonl = dir / "x.jsonl";
  const std::string uri = sink_uri(port, "si/down");
  CommandResult r =
      run_command(streaminfer_run({"--source", synthetic_uri(160, 120, 10), "--pace", "max",
                                   "--sink", uri, "--output", jsonl.string()}));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(read_lines(jsonl).size(), 10u);
  EXPECT_TRUE(has_line_with_all(r.err, {"streaminfer: warning: --sink", uri, "not reachable"}))
      << r.describe();
  EXPECT_TRUE(error_lines(r).empty()) << r.describe();
  EXPECT_TRUE(has_line_with_all(r.out, {"sink " + uri, "never connected"})) << r.describe();
}

TEST(MqttSinkRun, MalformedSinkIsRejectedBeforeTheRun) {
  for (const std::string bad : {"mqtt://127.0.0.1/cams/#", "http://127.0.0.1/t", "mqtt://h:0/t"}) {
    CommandResult r =
        run_command(streaminfer_run({"--source", synthetic_uri(160, 120, 5), "--sink", bad}));
    EXPECT_EQ(r.exit_code, 2) << r.describe();
    EXPECT_EQ(check_error_line(r, {"--sink", bad}), "") << r.describe();
  }
}

TEST(MqttSinkRun, BrokerKilledAndRestartedMidRunInferenceContinuesAndPublishingResumes) {
  MosquittoBroker broker;
  ASSERT_EQ(broker.start(), "");
  MqttSubscriber subscriber(broker.port(), "si/restart/#");
  ASSERT_TRUE(subscriber.wait_subscriptions(1, kWait));

  // Five seconds of a live camera: long enough for the subscriber's own reconnect (about 1 s).
  TempDir dir;
  const fs::path jsonl = dir / "x.jsonl";
  const std::string uri = sink_uri(broker.port(), "si/restart");
  CommandResult r;
  std::thread run([&] {
    r = run_command(streaminfer_run({"--source", synthetic_uri(320, 240, 150), "--pace", "realtime",
                                     "--sink", uri, "--output", jsonl.string(), "--metrics-dir",
                                     (dir / "metrics").string()}));
  });
  const bool publishing =
      subscriber.wait_until([](const auto& m) { return count_on(m, "si/restart") >= 3; }, 60s);
  broker.kill();
  // The outage: long enough for the sink to notice the lost connection and retry at least once.
  std::this_thread::sleep_for(300ms);
  const std::string restarted = broker.start();
  bool resubscribed = false, resumed = false;
  if (publishing && restarted.empty()) {
    resubscribed = subscriber.wait_subscriptions(2, kWait);
    // Anything after the resubscription counts (an event, or on a loaded machine where the run
    // ended first, the final stats message that the sink's flush sends).
    const size_t heard = subscriber.messages().size();
    resumed = subscriber.wait_until([&](const auto& m) { return m.size() > heard; }, kWait);
  }
  run.join();
  ASSERT_TRUE(publishing) << "no events before the broker was killed\n" << r.describe();
  ASSERT_EQ(restarted, "");
  ASSERT_TRUE(resubscribed);
  EXPECT_TRUE(resumed) << "no event arrived after the broker restarted\n" << r.describe();

  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const size_t frames_done = read_lines(jsonl).size();
  EXPECT_GT(frames_done, 3u) << r.describe();
  const json summary = summary_json(dir / "metrics");
  ASSERT_TRUE(summary.contains("sinks")) << summary.dump();
  const json& sink = summary["sinks"][0];
  EXPECT_EQ(sink["reconnects"], 1) << sink.dump();
  EXPECT_EQ(sink["dropped"], 0) << sink.dump();
  expect_accounted(sink);
  // Every frame was offered to the sink, plus the stats messages.
  EXPECT_GE(sink["accepted"].get<size_t>(), frames_done + 1) << sink.dump();
  // The final stats message went out after the restart.
  ASSERT_TRUE(subscriber.wait_until(
      [](const auto& m) {
        for (const auto& message : m) {
          if (message.topic == "si/restart/stats" &&
              json::parse(message.payload)["final"] == true) {
            return true;
          }
        }
        return false;
      },
      kWait));
}

}  // namespace
}  // namespace streaminfer::test
