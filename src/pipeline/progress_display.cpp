#include "pipeline/progress_display.h"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>

#include "streaminfer/clock.h"

namespace streaminfer {

ProgressDisplay::ProgressDisplay(std::vector<StreamCounters> streams,
                                 const std::atomic<int64_t>* batches,
                                 std::function<std::string()> detail)
    : streams_(std::move(streams)),
      batches_(batches),
      detail_(std::move(detail)),
      terminal_(isatty(STDERR_FILENO) != 0),
      last_done_(streams_.size(), 0),
      start_ns_(now_ns()),
      last_ns_(start_ns_) {
  thread_ = std::thread([this] { loop(); });
}

ProgressDisplay::~ProgressDisplay() { stop(); }

void ProgressDisplay::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  print(true);
}

void ProgressDisplay::loop() {
  const auto interval = terminal_ ? std::chrono::milliseconds(500) : std::chrono::seconds(5);
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, interval, [this] { return stopping_; })) {
    lock.unlock();
    print(false);
    lock.lock();
  }
}

std::string ProgressDisplay::format_line(double elapsed_s, const std::vector<int64_t>& done,
                                         const std::vector<double>& fps, int64_t dropped,
                                         int64_t batches) {
  int64_t total = 0;
  double total_fps = 0;
  std::string per_stream;
  for (size_t i = 0; i < done.size(); ++i) {
    total += done[i];
    total_fps += fps[i];
    per_stream += fmt::format("{}{:.1f}", i ? " " : "", fps[i]);
  }
  return fmt::format("[{:6.1f} s] frames {} | {:.1f} FPS | per stream {} | dropped {} | batches {}",
                     elapsed_s, total, total_fps, per_stream, dropped, batches);
}

void ProgressDisplay::print(bool final_line) {
  const int64_t now = now_ns();
  const double interval_s = std::max(1e-9, ns_to_ms(now - last_ns_) / 1000.0);
  std::vector<int64_t> done;
  std::vector<double> fps;
  int64_t dropped = 0;
  for (size_t i = 0; i < streams_.size(); ++i) {
    const int64_t d = streams_[i].done->load();
    done.push_back(d);
    fps.push_back(static_cast<double>(d - last_done_[i]) / interval_s);
    last_done_[i] = d;
    dropped += streams_[i].dropped();
  }
  last_ns_ = now;
  if (final_line) {
    // The final line reports averages over the whole run, not the last interval.
    const double run_s = std::max(1e-9, ns_to_ms(now - start_ns_) / 1000.0);
    for (size_t i = 0; i < fps.size(); ++i) fps[i] = static_cast<double>(done[i]) / run_s;
  }
  std::string line =
      format_line(ns_to_ms(now - start_ns_) / 1000.0, done, fps, dropped, batches_->load());
  if (detail_) line += " | " + detail_();
  if (terminal_) {
    // A line wider than the terminal wraps, and "\r" would then redraw only its last part.
    winsize size{};
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 1 &&
        line.size() >= size.ws_col) {
      line.resize(size.ws_col - 1);
    }
    std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final_line ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

}  // namespace streaminfer
