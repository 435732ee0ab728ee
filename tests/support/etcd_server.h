#pragma once
// A real etcd for the tests of the fleet (Debian's etcd-server): one member on free loopback
// ports with its data in a temporary directory, started, killed and restarted by the test (its
// data stays, as a restarted etcd's would). Header-only, like the MQTT broker.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "child_process.h"

namespace streaminfer::test {

inline constexpr const char* kEtcdBinary = "/usr/bin/etcd";

class EtcdServer {
 public:
  EtcdServer() : client_port_(free_loopback_port()), peer_port_(free_loopback_port()) {
    char pattern[] = "/tmp/streaminfer_etcd_XXXXXX";
    if (::mkdtemp(pattern) != nullptr) dir_ = pattern;
  }
  ~EtcdServer() {
    kill();
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
  }
  EtcdServer(const EtcdServer&) = delete;
  EtcdServer& operator=(const EtcdServer&) = delete;

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(client_port_); }

  // Empty on success, else what went wrong with etcd's log.
  std::string start(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    if (process_) return "";
    if (::access(kEtcdBinary, X_OK) != 0) {
      return std::string(kEtcdBinary) +
             " not found: install the etcd-server package (scripts/bootstrap.sh does)";
    }
    const std::string client = endpoint();
    const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
    ++starts_;
    process_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{kEtcdBinary, "--name", "test", "--data-dir", dir_ + "/data",
                                 "--listen-client-urls", client, "--advertise-client-urls", client,
                                 "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                                 "--initial-cluster", "test=" + peer, "--log-level", "error"},
        log_path(), log_path() + ".err");
    const bool up =
        wait_until([&] { return !process_->running() || port_accepts(client_port_); }, timeout);
    if (!process_->running() || !up) {
      const std::string log = read_file(log_path() + ".err");
      kill();
      return "etcd did not start on " + client + ": " + log;
    }
    return "";
  }

  // SIGKILL: clients see it gone, as when its machine fails.
  void kill() { process_.reset(); }

 private:
  std::string log_path() const { return dir_ + "/etcd" + std::to_string(starts_) + ".log"; }

  int client_port_, peer_port_;
  int starts_ = 0;
  std::string dir_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace streaminfer::test
