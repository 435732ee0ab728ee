#pragma once
// Keeps a live stream going across drops: when the camera closes the connection, stalls or
// errors, the stream is opened again with exponential backoff (capped), and frames continue.
// Only a stream that does not come back within `max_reconnects` attempts in a row ends, with an
// error naming the last reason.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "source/source.h"

namespace streaminfer {

class ReconnectingSource : public Source {
 public:
  using Opener = std::function<Result<std::unique_ptr<Source>>()>;
  using Logger = std::function<void(const std::string&)>;

  // `first` is the connection already open; `reopen` opens a new one. `log` gets one line per
  // drop, per give-up and per reconnect (default: stderr, "streaminfer: warning: ...").
  ReconnectingSource(std::unique_ptr<Source> first, Opener reopen, const SourceOptions& options,
                     Logger log = {});

  Status next(FramePtr& out) override;
  const SourceInfo& info() const override { return info_; }
  int64_t decode_errors() const override;
  void interrupt() override;
  std::string state() const override { return reconnecting_.load() ? "reconnecting" : ""; }
  int64_t reconnects() const override { return reconnects_.load(); }

 private:
  // Opens the stream again after a drop; ok when it is back, an error once it is given up.
  Status reconnect(const std::string& why);
  // Waits `seconds` unless interrupted first; false when interrupted.
  bool wait_unless_interrupted(double seconds);

  SourceInfo info_;
  Opener reopen_;
  SourceOptions options_;
  Logger log_;

  mutable std::mutex mutex_;  // guards current_ (swapped here, interrupted from other threads)
  std::condition_variable wake_;
  std::unique_ptr<Source> current_;
  bool interrupted_ = false;
  int64_t earlier_decode_errors_ = 0;  // of the connections already closed

  std::atomic<bool> reconnecting_{false};
  std::atomic<int64_t> reconnects_{0};
};

}  // namespace streaminfer
