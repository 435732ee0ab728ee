#pragma once
// Background processes for tests that need a real server (RTSP, MQTT broker) or must signal a
// running streaminfer: start, signal, wait with a timeout, and never leave one behind.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace streaminfer::test {

class ChildProcess {
 public:
  // Starts argv (no shell) in its own process group, stdin /dev/null, stdout and stderr written
  // to the given files. Throws std::runtime_error when it cannot be started.
  ChildProcess(const std::vector<std::string>& argv, const std::filesystem::path& stdout_path,
               const std::filesystem::path& stderr_path);
  // Kills (SIGKILL) and reaps the process if it is still running.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  void send(int signal_number) const;
  // Waits for the process to end; false on timeout (it keeps running).
  bool wait(std::chrono::milliseconds timeout);
  bool running();
  // After wait() returned true: the exit code, or -1 when a signal ended it (term_signal()).
  int exit_code() const { return exit_code_; }
  int term_signal() const { return term_signal_; }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int exit_code_ = -1;
  int term_signal_ = 0;
};

// Polls `condition` every 20 ms until it holds (true) or `timeout` passes (false).
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
int free_loopback_port();

// Whether something accepts TCP connections on 127.0.0.1:port.
bool port_accepts(int port);

// The whole file; empty when it does not exist (yet): tests poll logs that appear later.
std::string read_file(const std::filesystem::path& path);
// Lines without their '\n' (and without a trailing '\r'); a last line without '\n' is kept.
std::vector<std::string> split_lines(const std::string& text);
std::vector<std::string> read_lines(const std::filesystem::path& path);

// The RTSP server of tests/support/rtsp_test_server.c, serving `clip` (an H.264 MP4) at
// rtsp://127.0.0.1:PORT/cam. start() and restart() wait until it listens.
class RtspTestServer {
 public:
  RtspTestServer(std::filesystem::path clip, std::filesystem::path log_dir);
  void start();
  void kill();          // SIGKILL: the connection drops as when a camera loses power
  void freeze() const;  // SIGSTOP: the connection stays open and nothing is sent
  void thaw() const;    // SIGCONT
  std::string url() const;
  int port() const { return port_; }

 private:
  std::filesystem::path clip_, log_dir_;
  int port_;
  int starts_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace streaminfer::test
