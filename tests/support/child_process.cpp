#include "child_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#ifndef STREAMINFER_RTSP_TEST_SERVER
#error "STREAMINFER_RTSP_TEST_SERVER must name the rtsp_test_server binary"
#endif

namespace streaminfer::test {

ChildProcess::ChildProcess(const std::vector<std::string>& argv,
                           const std::filesystem::path& stdout_path,
                           const std::filesystem::path& stderr_path) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const std::string out = stdout_path.string(), err = stderr_path.string();
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid_ == 0) {
    setpgid(0, 0);
    const int in_fd = open("/dev/null", O_RDONLY);
    const int out_fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err_fd = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in_fd < 0 || out_fd < 0 || err_fd < 0) _exit(126);
    dup2(in_fd, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    execvp(args[0], args.data());
    _exit(127);
  }
  setpgid(pid_, pid_);
}

ChildProcess::~ChildProcess() {
  if (reaped_) return;
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
}

void ChildProcess::send(int signal_number) const {
  if (!reaped_) ::kill(pid_, signal_number);
}

bool ChildProcess::running() {
  if (reaped_) return false;
  int status = 0;
  const pid_t done = waitpid(pid_, &status, WNOHANG);
  if (done != pid_) return true;
  reaped_ = true;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  term_signal_ = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  return false;
}

bool ChildProcess::wait(std::chrono::milliseconds timeout) {
  return wait_until([this] { return !running(); }, timeout);
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

namespace {

sockaddr_in loopback(int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  return address;
}

}  // namespace

int free_loopback_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address = loopback(0);
  socklen_t size = sizeof(address);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
    throw std::runtime_error(std::string("no free loopback port: ") + std::strerror(errno));
  }
  close(fd);
  return ntohs(address.sin_port);
}

bool port_accepts(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  const sockaddr_in address = loopback(port);
  const bool ok = connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
  close(fd);
  return ok;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(begin, end - begin);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    begin = end + 1;
  }
  return lines;
}

std::vector<std::string> read_lines(const std::filesystem::path& path) {
  return split_lines(read_file(path));
}

RtspTestServer::RtspTestServer(std::filesystem::path clip, std::filesystem::path log_dir)
    : clip_(std::move(clip)), log_dir_(std::move(log_dir)), port_(free_loopback_port()) {}

void RtspTestServer::start() {
  const auto out = log_dir_ / ("rtsp_server_" + std::to_string(starts_) + ".out");
  const auto err = log_dir_ / ("rtsp_server_" + std::to_string(starts_) + ".err");
  ++starts_;
  process_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{STREAMINFER_RTSP_TEST_SERVER, std::to_string(port_), "cam",
                               clip_.string()},
      out, err);
  const bool ready = wait_until(
      [&] { return read_file(out).find("ready") != std::string::npos || !process_->running(); },
      std::chrono::seconds(20));
  if (!ready || !process_->running()) {
    throw std::runtime_error("rtsp_test_server did not start on port " + std::to_string(port_) +
                             ": " + read_file(err));
  }
}

void RtspTestServer::kill() { process_.reset(); }

void RtspTestServer::freeze() const { process_->send(SIGSTOP); }

void RtspTestServer::thaw() const { process_->send(SIGCONT); }

std::string RtspTestServer::url() const {
  return "rtsp://127.0.0.1:" + std::to_string(port_) + "/cam";
}

}  // namespace streaminfer::test
