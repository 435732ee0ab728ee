#pragma once
// The MQTT tests' real broker and subscriber, no mocks: a mosquitto process on a free loopback
// port (started, killed and restarted by the test) and a libmosquitto client that subscribes
// (again after every reconnect) and keeps every message it hears. Header-only: the unit tests
// and the end-to-end tests both include it.
#include <mosquitto.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "child_process.h"

namespace streaminfer::test {

inline constexpr const char* kMosquittoBinary = "/usr/sbin/mosquitto";

class MosquittoBroker {
 public:
  // port 0: a free loopback port. The broker is not running until start().
  explicit MosquittoBroker(int port = 0) : port_(port > 0 ? port : free_loopback_port()) {
    char pattern[] = "/tmp/streaminfer_mqtt_XXXXXX";
    if (::mkdtemp(pattern) != nullptr) dir_ = pattern;
  }
  ~MosquittoBroker() {
    kill();
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
  }
  MosquittoBroker(const MosquittoBroker&) = delete;
  MosquittoBroker& operator=(const MosquittoBroker&) = delete;

  int port() const { return port_; }
  bool running() const { return process_ != nullptr; }

  // Starts /usr/sbin/mosquitto on 127.0.0.1:port and waits (up to `timeout`) until the port
  // accepts connections. Empty on success, else what went wrong, with the broker's log.
  std::string start(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    if (running()) return "";
    if (dir_.empty()) return "cannot create a temporary directory for the broker";
    if (::access(kMosquittoBinary, X_OK) != 0) {
      return std::string(kMosquittoBinary) +
             " not found: install the mosquitto package (scripts/bootstrap.sh does)";
    }
    const std::string conf = dir_ + "/mosquitto.conf";
    std::ofstream(conf) << "listener " << port_ << " 127.0.0.1\n"
                        << "allow_anonymous true\npersistence false\n";
    process_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{kMosquittoBinary, "-c", conf}, log_path(), log_path() + ".err");
    const bool up =
        wait_until([&] { return !process_->running() || port_accepts(port_); }, timeout);
    if (!process_->running()) {
      process_.reset();
      return "mosquitto exited at start (port " + std::to_string(port_) + " taken?): " + log_text();
    }
    if (!up) {
      kill();
      return "mosquitto did not accept connections on port " + std::to_string(port_) + ": " +
             log_text();
    }
    return "";
  }

  // SIGKILL, as a crash would: clients see the connection drop.
  void kill() { process_.reset(); }

  std::string log_text() const { return read_file(log_path()) + read_file(log_path() + ".err"); }

 private:
  std::string log_path() const { return dir_ + "/mosquitto.log"; }

  int port_ = -1;
  std::string dir_;
  std::unique_ptr<ChildProcess> process_;
};

struct ReceivedMessage {
  std::string topic;
  std::string payload;
};

// Subscribes to `filter` on 127.0.0.1:port once connected, and again after each reconnect
// (libmosquitto's loop thread reconnects about every second once a connection was made).
class MqttSubscriber {
 public:
  MqttSubscriber(int port, std::string filter) : filter_(std::move(filter)) {
    mosquitto_lib_init();  // repeated calls are harmless
    const std::string id = "streaminfer-test-sub-" + std::to_string(::getpid()) + "-" +
                           std::to_string(reinterpret_cast<uintptr_t>(this));
    mosq_ = mosquitto_new(id.c_str(), true, this);
    if (mosq_ == nullptr) return;
    mosquitto_connect_callback_set(mosq_, [](mosquitto* m, void* self, int rc) {
      if (rc == 0) {
        mosquitto_subscribe(m, nullptr, static_cast<MqttSubscriber*>(self)->filter_.c_str(), 1);
      }
    });
    mosquitto_subscribe_callback_set(mosq_, [](mosquitto*, void* self, int, int, const int*) {
      auto* s = static_cast<MqttSubscriber*>(self);
      {
        std::lock_guard lock(s->mutex_);
        s->subscriptions_++;
      }
      s->changed_.notify_all();
    });
    mosquitto_message_callback_set(
        mosq_, [](mosquitto*, void* self, const mosquitto_message* message) {
          auto* s = static_cast<MqttSubscriber*>(self);
          {
            std::lock_guard lock(s->mutex_);
            s->messages_.push_back(
                {message->topic, std::string(static_cast<const char*>(message->payload),
                                             static_cast<size_t>(message->payloadlen))});
          }
          s->changed_.notify_all();
        });
    mosquitto_reconnect_delay_set(mosq_, 1, 1, false);
    connect_rc_ = mosquitto_connect(mosq_, "127.0.0.1", port, 10);
    mosquitto_loop_start(mosq_);
  }
  ~MqttSubscriber() {
    if (mosq_ == nullptr) return;
    mosquitto_disconnect(mosq_);
    mosquitto_loop_stop(mosq_, false);
    mosquitto_destroy(mosq_);
    // No mosquitto_lib_cleanup(): the sink under test shares the library's global state.
  }
  MqttSubscriber(const MqttSubscriber&) = delete;
  MqttSubscriber& operator=(const MqttSubscriber&) = delete;

  // Empty when connected at construction, else why not.
  std::string connect_error() const {
    if (mosq_ == nullptr) return "mosquitto_new failed";
    return connect_rc_ == MOSQ_ERR_SUCCESS ? "" : mosquitto_strerror(connect_rc_);
  }

  // Waits until the broker acknowledged `n` subscriptions in all (one per connection).
  bool wait_subscriptions(int n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return subscriptions_ >= n; });
  }

  // Waits until `done(messages)` holds.
  bool wait_until(const std::function<bool(const std::vector<ReceivedMessage>&)>& done,
                  std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return done(messages_); });
  }

  std::vector<ReceivedMessage> messages() const {
    std::lock_guard lock(mutex_);
    return messages_;
  }

  // Messages on exactly `topic`.
  std::vector<std::string> payloads(const std::string& topic) const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& m : messages_) {
      if (m.topic == topic) out.push_back(m.payload);
    }
    return out;
  }

 private:
  std::string filter_;
  mosquitto* mosq_ = nullptr;
  int connect_rc_ = MOSQ_ERR_UNKNOWN;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<ReceivedMessage> messages_;
  int subscriptions_ = 0;
};

inline size_t count_on(const std::vector<ReceivedMessage>& messages, const std::string& topic) {
  size_t n = 0;
  for (const auto& m : messages) n += m.topic == topic ? 1 : 0;
  return n;
}

}  // namespace streaminfer::test
