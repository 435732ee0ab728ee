#include "source/reconnecting_source.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "streaminfer/clock.h"

namespace streaminfer {

ReconnectingSource::ReconnectingSource(std::unique_ptr<Source> first, Opener reopen,
                                       const SourceOptions& options, Logger log)
    : info_(first->info()),
      reopen_(std::move(reopen)),
      options_(options),
      log_(std::move(log)),
      current_(std::move(first)) {
  if (!log_) {
    log_ = [](const std::string& line) {
      std::fprintf(stderr, "streaminfer: warning: %s\n", line.c_str());
    };
  }
}

int64_t ReconnectingSource::decode_errors() const {
  std::lock_guard lock(mutex_);
  return earlier_decode_errors_ + (current_ ? current_->decode_errors() : 0);
}

void ReconnectingSource::interrupt() {
  std::lock_guard lock(mutex_);
  interrupted_ = true;
  if (current_) current_->interrupt();
  wake_.notify_all();
}

bool ReconnectingSource::wait_unless_interrupted(double seconds) {
  std::unique_lock lock(mutex_);
  return !wake_.wait_for(lock, std::chrono::duration<double>(seconds),
                         [this] { return interrupted_; });
}

Status ReconnectingSource::next(FramePtr& out) {
  out.reset();
  while (true) {
    Source* source;
    {
      std::lock_guard lock(mutex_);
      if (interrupted_) return Status::ok();
      source = current_.get();
    }
    // Only this thread replaces current_, so the pointer stays valid while next() blocks.
    const Status status = source->next(out);
    if (status && out) return Status::ok();
    {
      std::lock_guard lock(mutex_);
      if (interrupted_) {
        out.reset();
        return Status::ok();
      }
    }
    out.reset();
    // A live stream that "ends" has dropped: cameras do not stop on their own.
    const std::string why = status ? "the server closed the stream" : status.message();
    SI_RETURN_IF_ERROR(reconnect(why));
  }
}

Status ReconnectingSource::reconnect(const std::string& why) {
  reconnecting_.store(true);
  const int64_t down_since = now_ns();
  log_(fmt::format("'{}' dropped ({}); reconnecting", info_.uri, why));
  double backoff = options_.reconnect_backoff_s;
  std::string last_error = why;
  for (int attempt = 1;; ++attempt) {
    if (options_.max_reconnects >= 0 && attempt > options_.max_reconnects) {
      reconnecting_.store(false);
      return Status::error(
          fmt::format("'{}' did not come back after {} reconnect attempt(s) "
                      "(last: {}); raise --max-reconnects to keep trying",
                      info_.uri, options_.max_reconnects, last_error));
    }
    if (!wait_unless_interrupted(backoff)) {
      reconnecting_.store(false);
      return Status::ok();
    }
    backoff = std::min(backoff * 2, options_.reconnect_backoff_max_s);
    auto fresh = reopen_();
    if (!fresh) {
      last_error = fresh.status().message();
      continue;
    }
    std::unique_ptr<Source> old;
    {
      std::lock_guard lock(mutex_);
      earlier_decode_errors_ += current_->decode_errors();
      old = std::move(current_);
      current_ = std::move(fresh.value());
      if (interrupted_) current_->interrupt();
    }
    reconnects_.fetch_add(1);
    reconnecting_.store(false);
    log_(fmt::format("'{}' is back after {:.1f} s ({} attempt(s))", info_.uri,
                     ns_to_ms(now_ns() - down_since) / 1000.0, attempt));
    return Status::ok();
  }
}

}  // namespace streaminfer
