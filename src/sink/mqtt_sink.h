#pragma once
// Publishes messages to an MQTT broker with libmosquitto, without ever blocking the caller.
//
// publish() only appends to a bounded queue (`MqttUri::queue` messages); when the queue is full
// the oldest message is dropped and counted, so a broker that is down or slow costs the pipeline
// a mutex and a move, never a wait. Two threads of the sink's own do the rest:
//   - the network thread connects, runs libmosquitto's loop and, whenever the connection fails
//     or is lost (including the very first attempt, which libmosquitto's own loop_start thread
//     does not retry), reconnects after a capped exponential backoff;
//   - the publisher thread hands queued messages to libmosquitto while connected, at most
//     `max_in_flight` at a time (not yet written, or not yet acknowledged for QoS 1), so
//     libmosquitto's own unbounded queue never grows either.
// Ownership: the sink owns its libmosquitto client and threads; close() (or the destructor)
// joins them. All methods are thread-safe.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "sink/mqtt_uri.h"
#include "streaminfer/status.h"

struct mosquitto;

namespace streaminfer {

struct MqttSinkOptions {
  std::chrono::milliseconds reconnect_min{500};   // first retry after a failure
  std::chrono::milliseconds reconnect_max{5000};  // the backoff doubles up to this
  int keepalive_s = 10;
  size_t max_in_flight = 64;
};

struct MqttSinkCounters {
  int64_t accepted = 0;   // publish() calls
  int64_t published = 0;  // QoS 0: written to the socket; QoS 1: acknowledged by the broker
  int64_t dropped = 0;    // the oldest queued message, dropped because the queue was full
  int64_t lost = 0;       // handed to libmosquitto, never confirmed (connection closed first)
  int64_t failed = 0;     // refused by libmosquitto (e.g. payload too large)
  int64_t unsent = 0;     // still queued when close() stopped waiting
  int64_t connects = 0;   // successful connections; the ones after the first are reconnects
  size_t queued = 0;
  bool connected = false;
  std::string last_error;  // why the last connection attempt failed or was lost; may be empty

  int64_t reconnects() const { return connects > 0 ? connects - 1 : 0; }
};

class MqttSink {
 public:
  enum class Channel { kEvents, kStats };  // `topic` and `topic/stats`

  // Starts connecting in the background; a broker that is down is not an error (the sink keeps
  // retrying). Fails only when libmosquitto cannot create a client.
  static Result<std::unique_ptr<MqttSink>> open(MqttUri uri, MqttSinkOptions options = {});
  ~MqttSink();
  MqttSink(const MqttSink&) = delete;
  MqttSink& operator=(const MqttSink&) = delete;

  // Never waits for the network. Ignored after close().
  void publish(Channel channel, std::string payload);

  // Waits until connected, or the first connection attempt failed, or `timeout`: the caller can
  // then say whether the broker is there. Returns whether connected.
  bool wait_first_attempt(std::chrono::milliseconds timeout);
  bool wait_connected(std::chrono::milliseconds timeout);

  MqttSinkCounters counters() const;
  const MqttUri& uri() const { return uri_; }
  const std::string& topic(Channel channel) const;

  // Waits up to `flush_timeout` for the queue and in-flight messages to go out (not at all when
  // the broker was never reached), disconnects and stops the threads. Idempotent.
  MqttSinkCounters close(std::chrono::milliseconds flush_timeout);

 private:
  struct Message {
    Channel channel;
    std::string payload;
  };
  MqttSink(MqttUri uri, MqttSinkOptions options);

  void network_loop();
  void publisher_loop();
  void wait_backoff(int failures);
  void connection_closed(const std::string& why);  // with mutex_ held

  static void on_connect(mosquitto*, void* self, int rc);
  static void on_disconnect(mosquitto*, void* self, int rc);
  static void on_publish(mosquitto*, void* self, int mid);

  const MqttUri uri_;
  const MqttSinkOptions options_;
  const std::string events_topic_, stats_topic_;
  mosquitto* mosq_ = nullptr;

  mutable std::mutex mutex_;
  std::condition_variable changed_;  // queue, connection, in-flight or stop state changed
  std::deque<Message> queue_;
  MqttSinkCounters counters_;
  size_t in_flight_ = 0;
  uint64_t generation_ = 0;  // bumped when a connection closes: tells stale in-flight counts
  int failed_attempts_ = 0;  // since the last successful connection, for the backoff
  bool attempted_ = false;   // the first attempt finished (either way)
  bool closing_ = false;     // publish() ignored; close() is flushing
  bool stop_publisher_ = false;
  bool stop_network_ = false;

  std::thread network_thread_;
  std::thread publisher_thread_;
};

}  // namespace streaminfer
