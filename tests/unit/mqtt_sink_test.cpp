// The MQTT sink against a real mosquitto broker that each test starts on a free loopback port:
// messages arrive and parse; a broker that is down never blocks publish() (messages queue up to
// the bound, then the oldest are dropped and counted); a broker that comes up late, or is killed
// and restarted, gets the queued messages and publishing resumes. Every wait polls a condition
// with a generous timeout; nothing asserts on how fast the network is.
#include "sink/mqtt_sink.h"

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "mosquitto_broker.h"
#include "sink/jsonl_writer.h"
#include "sink/stats_message.h"

namespace streaminfer {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using test::MosquittoBroker;
using test::MqttSubscriber;

constexpr auto kWait = 10s;

// Fast retries keep the tests short; the defaults (0.5 s doubling to 5 s) suit a real broker.
MqttSinkOptions fast_retries() {
  MqttSinkOptions options;
  options.reconnect_min = 50ms;
  options.reconnect_max = 200ms;
  return options;
}

MqttUri uri_for(int port, const std::string& topic, const std::string& query = "") {
  auto uri = parse_mqtt_uri("mqtt://127.0.0.1:" + std::to_string(port) + "/" + topic + query);
  EXPECT_TRUE(uri) << uri.status().message();
  return uri.value();
}

std::unique_ptr<MqttSink> open_sink(const MqttUri& uri) {
  auto sink = MqttSink::open(uri, fast_retries());
  EXPECT_TRUE(sink) << sink.status().message();
  return sink ? std::move(sink.value()) : nullptr;
}

Frame frame_with_box(int stream, int64_t index) {
  Frame f;
  f.stream_id = stream;
  f.index = index;
  f.pts_seconds = static_cast<double>(index) / 30.0;
  Detection d;
  d.box = {10, 20, 110, 220};
  d.score = 0.9f;
  d.class_id = 0;
  f.detections = {d};
  return f;
}

// Polls `done` (the sink's counters) until it holds.
template <typename Pred>
bool wait_counters(const MqttSink& sink, Pred done, std::chrono::milliseconds timeout = kWait) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done(sink.counters())) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

TEST(MqttSink, PublishedEventsAndStatsArriveAsJson) {
  MosquittoBroker broker;
  ASSERT_EQ(broker.start(), "");
  MqttSubscriber subscriber(broker.port(), "si/unit/#");
  ASSERT_EQ(subscriber.connect_error(), "");
  ASSERT_TRUE(subscriber.wait_subscriptions(1, kWait));

  auto sink = open_sink(uri_for(broker.port(), "si/unit"));
  ASSERT_TRUE(sink);
  EXPECT_TRUE(sink->wait_first_attempt(kWait));
  constexpr int kFrames = 50;
  for (int i = 0; i < kFrames; ++i) {
    sink->publish(MqttSink::Channel::kEvents, format_jsonl_line(frame_with_box(1, i), {"car"}));
  }
  StatsSnapshot before{0, {{0, 0, 0}, {1, 0, 0}}, 0, 0};
  StatsSnapshot now{2.0, {{0, 10, 0}, {1, kFrames, 3}}, 10 + kFrames, 3};
  sink->publish(MqttSink::Channel::kStats,
                stats_message(now, before, false, sink->counters()).dump());

  ASSERT_TRUE(subscriber.wait_until(
      [](const auto& messages) { return messages.size() >= kFrames + 1; }, kWait))
      << "received " << subscriber.messages().size() << " of " << kFrames + 1;
  const auto events = subscriber.payloads("si/unit");
  ASSERT_EQ(events.size(), static_cast<size_t>(kFrames));
  for (int i = 0; i < kFrames; ++i) {
    const json line = json::parse(events[i]);  // QoS 0 on one connection keeps the order
    EXPECT_EQ(line["stream"], 1);
    EXPECT_EQ(line["frame"], i);
    ASSERT_EQ(line["detections"].size(), 1u);
    EXPECT_EQ(line["detections"][0]["label"], "car");
    EXPECT_EQ(line["detections"][0]["box"], json::parse("[10.0,20.0,110.0,220.0]"));
  }
  const auto stats = subscriber.payloads("si/unit/stats");
  ASSERT_EQ(stats.size(), 1u);
  const json s = json::parse(stats[0]);
  EXPECT_EQ(s["frames"], 10 + kFrames);
  EXPECT_DOUBLE_EQ(s["fps"].get<double>(), (10.0 + kFrames) / 2.0);
  EXPECT_EQ(s["dropped"], 3);
  EXPECT_EQ(s["final"], false);
  ASSERT_EQ(s["streams"].size(), 2u);
  EXPECT_EQ(s["streams"][1]["frames"], kFrames);
  EXPECT_TRUE(s["sink"].contains("published"));

  const MqttSinkCounters c = sink->close(2s);
  EXPECT_EQ(c.accepted, kFrames + 1);
  EXPECT_EQ(c.published, kFrames + 1);
  EXPECT_EQ(c.dropped, 0);
  EXPECT_EQ(c.lost, 0);
  EXPECT_EQ(c.unsent, 0);
  EXPECT_EQ(c.connects, 1);
  EXPECT_EQ(c.reconnects(), 0);
}

TEST(MqttSink, QosOneMessagesAreAcknowledged) {
  MosquittoBroker broker;
  ASSERT_EQ(broker.start(), "");
  MqttSubscriber subscriber(broker.port(), "si/qos1");
  ASSERT_TRUE(subscriber.wait_subscriptions(1, kWait));
  auto sink = open_sink(uri_for(broker.port(), "si/qos1", "?qos=1&client_id=si-qos1-test"));
  ASSERT_TRUE(sink);
  for (int i = 0; i < 20; ++i) sink->publish(MqttSink::Channel::kEvents, json{{"i", i}}.dump());
  ASSERT_TRUE(subscriber.wait_until([](const auto& m) { return m.size() >= 20; }, kWait));
  const MqttSinkCounters c = sink->close(2s);
  EXPECT_EQ(c.published, 20);  // PUBACKs
  EXPECT_EQ(c.unsent + c.lost + c.dropped, 0);
}

TEST(MqttSink, BrokerDownPublishReturnsAtOnceQueuesToTheBoundAndCountsDrops) {
  const int port = test::free_loopback_port();  // nothing listens there
  auto sink = open_sink(uri_for(port, "si/down", "?queue=10"));
  ASSERT_TRUE(sink);
  EXPECT_FALSE(sink->wait_first_attempt(kWait));
  EXPECT_NE(sink->counters().last_error, "");

  // 25 publishes into a queue of 10: each is a push under a mutex. The bound is generous (it is
  // about "never waits for the network", not speed), even under sanitizers.
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 25; ++i) sink->publish(MqttSink::Channel::kEvents, json{{"i", i}}.dump());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  MqttSinkCounters c = sink->counters();
  EXPECT_EQ(c.accepted, 25);
  EXPECT_EQ(c.queued, 10u);
  EXPECT_EQ(c.dropped, 15);
  EXPECT_EQ(c.published, 0);
  EXPECT_FALSE(c.connected);

  // Never connected: close does not wait for the flush timeout.
  const auto close_start = std::chrono::steady_clock::now();
  c = sink->close(30s);
  EXPECT_LT(std::chrono::steady_clock::now() - close_start, 10s);
  EXPECT_EQ(c.unsent, 10);
  EXPECT_EQ(c.connects, 0);
}

TEST(MqttSink, BrokerThatStartsLateGetsTheQueuedMessages) {
  MosquittoBroker broker;  // picks the port, not started yet
  auto sink = open_sink(uri_for(broker.port(), "si/late"));
  ASSERT_TRUE(sink);
  EXPECT_FALSE(sink->wait_first_attempt(kWait));
  for (int i = 0; i < 5; ++i) sink->publish(MqttSink::Channel::kEvents, json{{"i", i}}.dump());

  // libmosquitto's own loop thread never retries a first connection that failed; the sink's does.
  ASSERT_EQ(broker.start(), "");
  ASSERT_TRUE(sink->wait_connected(kWait)) << sink->counters().last_error;
  EXPECT_TRUE(wait_counters(*sink, [](const auto& c) { return c.published == 5; }))
      << "published " << sink->counters().published;

  MqttSubscriber subscriber(broker.port(), "si/late");
  ASSERT_TRUE(subscriber.wait_subscriptions(1, kWait));
  sink->publish(MqttSink::Channel::kEvents, R"({"after":true})");
  ASSERT_TRUE(subscriber.wait_until([](const auto& m) { return !m.empty(); }, kWait));
  EXPECT_EQ(json::parse(subscriber.messages().back().payload)["after"], true);
  const MqttSinkCounters c = sink->close(2s);
  EXPECT_EQ(c.published, 6);
  EXPECT_EQ(c.connects, 1);
}

TEST(MqttSink, BrokerKilledAndRestartedPublishingResumes) {
  MosquittoBroker broker;
  ASSERT_EQ(broker.start(), "");
  MqttSubscriber subscriber(broker.port(), "si/restart");
  ASSERT_TRUE(subscriber.wait_subscriptions(1, kWait));
  auto sink = open_sink(uri_for(broker.port(), "si/restart"));
  ASSERT_TRUE(sink);
  ASSERT_TRUE(sink->wait_connected(kWait));
  sink->publish(MqttSink::Channel::kEvents, R"({"phase":"before"})");
  ASSERT_TRUE(subscriber.wait_until([](const auto& m) { return m.size() == 1; }, kWait));

  broker.kill();
  ASSERT_TRUE(wait_counters(*sink, [](const auto& c) { return !c.connected; }));
  // While the broker is away publish() still returns at once; the messages wait in the queue.
  for (int i = 0; i < 5; ++i) sink->publish(MqttSink::Channel::kEvents, R"({"phase":"outage"})");
  EXPECT_EQ(sink->counters().queued, 5u);

  ASSERT_EQ(broker.start(), "");  // same port
  ASSERT_TRUE(wait_counters(*sink, [](const auto& c) { return c.connects == 2; }))
      << sink->counters().last_error;
  EXPECT_TRUE(wait_counters(*sink, [](const auto& c) { return c.published == 6; }))
      << "published " << sink->counters().published;

  // The subscriber reconnects on its own (about a second) and subscribes again; what the sink
  // publishes after that reaches it.
  ASSERT_TRUE(subscriber.wait_subscriptions(2, kWait));
  sink->publish(MqttSink::Channel::kEvents, R"({"phase":"after"})");
  ASSERT_TRUE(subscriber.wait_until(
      [](const auto& m) { return json::parse(m.back().payload)["phase"] == "after"; }, kWait));
  const MqttSinkCounters c = sink->close(2s);
  EXPECT_EQ(c.reconnects(), 1);
  EXPECT_EQ(c.published, 7);
  EXPECT_EQ(c.dropped + c.lost + c.unsent + c.failed, 0);
}

TEST(MqttSink, StatsMessageFpsIsOverTheInterval) {
  StatsSnapshot previous{1.0, {{0, 30, 0}, {1, 10, 0}}, 40, 0};
  StatsSnapshot now{2.0, {{0, 60, 1}, {1, 25, 2}}, 85, 3};
  MqttSinkCounters counters;
  counters.connects = 3;
  const json s = stats_message(now, previous, true, counters);
  EXPECT_EQ(s["frames"], 85);
  EXPECT_DOUBLE_EQ(s["fps"].get<double>(), 45.0);
  EXPECT_DOUBLE_EQ(s["streams"][0]["fps"].get<double>(), 30.0);
  EXPECT_DOUBLE_EQ(s["streams"][1]["fps"].get<double>(), 15.0);
  EXPECT_EQ(s["dropped"], 3);
  EXPECT_EQ(s["final"], true);
  EXPECT_EQ(s["sink"]["reconnects"], 2);
}

// A service's streams come and go: a stream that left keeps its frames in the run's totals (the
// total fps never goes negative), is no longer listed, and one that joined counts its frames
// since it joined.
TEST(MqttSink, StatsOfStreamsThatComeAndGo) {
  StatsTotals totals;
  const StatsSnapshot first = totals.sample(1.0, {{0, 30, 1}, {1, 10, 0}});
  EXPECT_EQ(first.frames_done, 40);
  const StatsSnapshot second = totals.sample(2.0, {{1, 25, 0}, {2, 5, 2}});  // 0 left, 2 joined
  EXPECT_EQ(second.frames_done, 60);
  EXPECT_EQ(second.dropped, 3);
  const json s = stats_message(second, first, false, {});
  EXPECT_EQ(s["frames"], 60);
  EXPECT_DOUBLE_EQ(s["fps"].get<double>(), 20.0);
  ASSERT_EQ(s["streams"].size(), 2u) << s.dump();
  EXPECT_EQ(s["streams"][0]["stream"], 1);
  EXPECT_DOUBLE_EQ(s["streams"][0]["fps"].get<double>(), 15.0);
  EXPECT_EQ(s["streams"][1]["stream"], 2);
  EXPECT_DOUBLE_EQ(s["streams"][1]["fps"].get<double>(), 5.0);
  // Nothing running: the totals stay.
  EXPECT_EQ(totals.sample(3.0, {}).frames_done, 60);
}

}  // namespace
}  // namespace streaminfer
