#pragma once
// Live one-line progress on stderr: refreshed in place on a terminal (twice a second), a plain
// line every few seconds otherwise (logs stay readable).
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace streaminfer {

class ProgressDisplay {
 public:
  struct StreamCounters {
    const std::atomic<int64_t>* done;  // frames with a result
    std::function<int64_t()> dropped;  // frames dropped by the overflow policy
  };
  // detail: extra text for the end of each line (queue depths, stage p50s); may be empty.
  ProgressDisplay(std::vector<StreamCounters> streams, const std::atomic<int64_t>* batches,
                  std::function<std::string()> detail = {});
  ~ProgressDisplay();
  // Prints the last line and stops the thread. Idempotent.
  void stop();

  // FPS per stream over the last interval, total frames and drops: the text of one update.
  static std::string format_line(double elapsed_s, const std::vector<int64_t>& done,
                                 const std::vector<double>& fps, int64_t dropped, int64_t batches);

 private:
  void loop();
  void print(bool final_line);

  std::vector<StreamCounters> streams_;
  const std::atomic<int64_t>* batches_;
  std::function<std::string()> detail_;
  const bool terminal_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::vector<int64_t> last_done_;
  int64_t start_ns_, last_ns_;
  std::thread thread_;
};

}  // namespace streaminfer
