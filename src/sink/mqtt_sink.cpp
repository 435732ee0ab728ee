#include "sink/mqtt_sink.h"

#include <fmt/format.h>
#include <mosquitto.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

namespace streaminfer {
namespace {

// How long one libmosquitto loop call may wait on the socket: also how soon the network thread
// notices a stop request when idle.
constexpr int kLoopTimeoutMs = 100;
// After close() asked the broker to disconnect: how long the DISCONNECT packet may take.
constexpr auto kDisconnectGrace = std::chrono::milliseconds(500);

void init_library_once() {
  // Never cleaned up: other sinks may be alive until exit, and the OS reclaims it then.
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

std::string error_text(int rc) {
  // For MOSQ_ERR_ERRNO libmosquitto describes errno, which is still this thread's.
  return mosquitto_strerror(rc);
}

std::string unique_client_id() {
  static std::atomic<int> next{0};
  return fmt::format("streaminfer-{}-{}", getpid(), next.fetch_add(1));
}

}  // namespace

MqttSink::MqttSink(MqttUri uri, MqttSinkOptions options)
    : uri_(std::move(uri)),
      options_(options),
      events_topic_(uri_.topic),
      stats_topic_(uri_.topic + "/stats") {}

Result<std::unique_ptr<MqttSink>> MqttSink::open(MqttUri uri, MqttSinkOptions options) {
  init_library_once();
  std::unique_ptr<MqttSink> sink(new MqttSink(std::move(uri), options));
  const std::string id = sink->uri_.client_id.empty() ? unique_client_id() : sink->uri_.client_id;
  errno = 0;
  sink->mosq_ = mosquitto_new(id.c_str(), /*clean_session=*/true, sink.get());
  if (sink->mosq_ == nullptr) {
    return Status::error(fmt::format("--sink '{}': cannot create an MQTT client: {}",
                                     sink->uri_.uri, std::strerror(errno)));
  }
  // publish() and disconnect() come from other threads than the one running the loop.
  mosquitto_threaded_set(sink->mosq_, true);
  // Small messages, one per frame: do not let Nagle hold them back.
  mosquitto_int_option(sink->mosq_, MOSQ_OPT_TCP_NODELAY, 1);
  mosquitto_connect_callback_set(sink->mosq_, &MqttSink::on_connect);
  mosquitto_disconnect_callback_set(sink->mosq_, &MqttSink::on_disconnect);
  mosquitto_publish_callback_set(sink->mosq_, &MqttSink::on_publish);
  sink->network_thread_ = std::thread([s = sink.get()] { s->network_loop(); });
  sink->publisher_thread_ = std::thread([s = sink.get()] { s->publisher_loop(); });
  return sink;
}

MqttSink::~MqttSink() {
  close(std::chrono::milliseconds(0));
  if (mosq_ != nullptr) mosquitto_destroy(mosq_);
}

const std::string& MqttSink::topic(Channel channel) const {
  return channel == Channel::kStats ? stats_topic_ : events_topic_;
}

void MqttSink::publish(Channel channel, std::string payload) {
  {
    std::lock_guard lock(mutex_);
    if (closing_) return;
    if (queue_.size() >= uri_.queue) {
      queue_.pop_front();  // the oldest goes: what is newest matters most to a live consumer
      counters_.dropped++;
    }
    queue_.push_back({channel, std::move(payload)});
    counters_.accepted++;
  }
  changed_.notify_all();
}

bool MqttSink::wait_first_attempt(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [this] { return attempted_ || counters_.connected; });
  return counters_.connected;
}

bool MqttSink::wait_connected(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [this] { return counters_.connected; });
}

MqttSinkCounters MqttSink::counters() const {
  std::lock_guard lock(mutex_);
  MqttSinkCounters c = counters_;
  c.queued = queue_.size();
  return c;
}

void MqttSink::wait_backoff(int failures) {
  // reconnect_min, then doubling up to reconnect_max.
  auto delay = options_.reconnect_min;
  for (int i = 1; i < failures && delay < options_.reconnect_max; ++i) delay *= 2;
  delay = std::min(delay, options_.reconnect_max);
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, delay, [this] { return stop_network_; });
}

void MqttSink::connection_closed(const std::string& why) {
  if (!why.empty()) counters_.last_error = why;
  counters_.connected = false;
  generation_++;
  // QoS 0 messages not yet written are freed by libmosquitto when it reconnects; QoS 1 ones are
  // kept and sent again, so they stay in flight.
  if (uri_.qos == 0) {
    counters_.lost += static_cast<int64_t>(in_flight_);
    in_flight_ = 0;
  }
}

void MqttSink::network_loop() {
  bool socket_open = false;
  bool started = false;
  std::chrono::steady_clock::time_point stop_deadline{};
  while (true) {
    {
      std::lock_guard lock(mutex_);
      if (stop_network_) {
        if (stop_deadline == std::chrono::steady_clock::time_point{}) {
          stop_deadline = std::chrono::steady_clock::now() + kDisconnectGrace;
        }
        if (!socket_open || std::chrono::steady_clock::now() > stop_deadline) break;
      }
    }
    if (!socket_open) {
      // Non-blocking connect: a refused connection fails here at once, a slow one completes
      // inside mosquitto_loop. Only the name lookup blocks, and only this thread.
      const int rc = started ? mosquitto_reconnect_async(mosq_)
                             : mosquitto_connect_async(mosq_, uri_.host.c_str(), uri_.port,
                                                       options_.keepalive_s);
      if (rc != MOSQ_ERR_INVAL) started = true;  // the address is stored: reconnect from now
      if (rc == MOSQ_ERR_SUCCESS) {
        socket_open = true;
        continue;
      }
      const std::string why = error_text(rc);
      int failures = 0;
      {
        std::lock_guard lock(mutex_);
        counters_.last_error = why;
        attempted_ = true;
        failures = ++failed_attempts_;
      }
      changed_.notify_all();
      wait_backoff(failures);
      continue;
    }
    const int rc = mosquitto_loop(mosq_, kLoopTimeoutMs, 1);
    if (rc == MOSQ_ERR_SUCCESS) continue;
    socket_open = false;
    // A refused CONNACK already left the broker's reason (on_connect); keep it.
    const std::string why = rc == MOSQ_ERR_CONN_REFUSED ? std::string() : error_text(rc);
    int failures = 0;
    {
      std::lock_guard lock(mutex_);
      if (stop_network_) continue;  // the disconnect close() asked for
      connection_closed(why);
      attempted_ = true;
      failures = ++failed_attempts_;
    }
    changed_.notify_all();
    wait_backoff(failures);
  }
}

void MqttSink::publisher_loop() {
  std::unique_lock lock(mutex_);
  while (true) {
    changed_.wait(lock, [this] {
      return stop_publisher_ ||
             (counters_.connected && !queue_.empty() && in_flight_ < options_.max_in_flight);
    });
    if (stop_publisher_) return;
    Message message = std::move(queue_.front());
    queue_.pop_front();
    const uint64_t generation = generation_;
    in_flight_++;  // before the call: on_publish may run before mosquitto_publish returns
    lock.unlock();
    const std::string& t = topic(message.channel);
    const int rc =
        mosquitto_publish(mosq_, nullptr, t.c_str(), static_cast<int>(message.payload.size()),
                          message.payload.data(), uri_.qos, /*retain=*/false);
    lock.lock();
    if (rc == MOSQ_ERR_SUCCESS) continue;
    // Not handed over after all: undo the in-flight count, or the loss that a closed connection
    // already booked for it.
    if (generation == generation_ && in_flight_ > 0) {
      in_flight_--;
    } else if (uri_.qos == 0 && counters_.lost > 0) {
      counters_.lost--;
    }
    if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST) {
      // The socket closed under us; the network thread reconnects. Keep the message.
      counters_.connected = false;
      if (queue_.size() < uri_.queue) {
        queue_.push_front(std::move(message));
      } else {
        counters_.dropped++;
      }
    } else {
      counters_.failed++;
      counters_.last_error = "publish: " + error_text(rc);
    }
  }
}

MqttSinkCounters MqttSink::close(std::chrono::milliseconds flush_timeout) {
  {
    std::unique_lock lock(mutex_);
    if (closing_) {
      lock.unlock();
      return counters();
    }
    closing_ = true;
    // Waiting for a broker that was never reached would only delay the end of the run.
    if (counters_.connects > 0) {
      changed_.wait_for(lock, flush_timeout, [this] { return queue_.empty() && in_flight_ == 0; });
    }
    stop_publisher_ = true;
  }
  changed_.notify_all();
  if (publisher_thread_.joinable()) publisher_thread_.join();
  if (mosq_ != nullptr) mosquitto_disconnect(mosq_);  // NO_CONN when down: nothing to do then
  {
    std::lock_guard lock(mutex_);
    stop_network_ = true;
  }
  changed_.notify_all();
  if (network_thread_.joinable()) network_thread_.join();
  std::lock_guard lock(mutex_);
  counters_.unsent += static_cast<int64_t>(queue_.size());
  counters_.lost += static_cast<int64_t>(in_flight_);  // never confirmed written or acknowledged
  queue_.clear();
  in_flight_ = 0;
  counters_.connected = false;
  MqttSinkCounters c = counters_;
  c.queued = 0;
  return c;
}

void MqttSink::on_connect(mosquitto*, void* self, int rc) {
  auto* sink = static_cast<MqttSink*>(self);
  {
    std::lock_guard lock(sink->mutex_);
    sink->attempted_ = true;
    if (rc == 0) {
      sink->counters_.connected = true;
      sink->counters_.connects++;
      sink->failed_attempts_ = 0;
    } else {
      // The broker answered but refused us; it closes the socket and the loop reconnects.
      sink->counters_.last_error = mosquitto_connack_string(rc);
    }
  }
  sink->changed_.notify_all();
}

void MqttSink::on_disconnect(mosquitto*, void* self, int rc) {
  auto* sink = static_cast<MqttSink*>(self);
  {
    std::lock_guard lock(sink->mutex_);
    sink->connection_closed(rc == 0 ? std::string() : error_text(rc));
  }
  sink->changed_.notify_all();
}

void MqttSink::on_publish(mosquitto*, void* self, int) {
  auto* sink = static_cast<MqttSink*>(self);
  {
    std::lock_guard lock(sink->mutex_);
    sink->counters_.published++;
    if (sink->in_flight_ > 0) sink->in_flight_--;
  }
  sink->changed_.notify_all();
}

}  // namespace streaminfer
