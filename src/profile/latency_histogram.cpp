#include "profile/latency_histogram.h"

#include <algorithm>
#include <cmath>

namespace streaminfer {

namespace {

// Bucket i >= 1 covers [kLowestMs * kGrowth^(i-1), kLowestMs * kGrowth^i); bucket 0 is the
// underflow bucket [0, kLowestMs). Buckets 1% wide put every midpoint within 0.5% of any value
// in its bucket. Values beyond the top land in the last bucket; max stays exact anyway.
constexpr double kLowestMs = 1e-3;  // 1 microsecond
constexpr double kHighestMs = 1e6;  // 1000 seconds
constexpr double kGrowth = 1.01;

// constexpr rather than computed with std::log at static-initialization time, so that a
// histogram constructed during another file's static initialization gets the right size.
constexpr size_t count_log_buckets() {
  size_t n = 0;
  for (double edge = kLowestMs; edge < kHighestMs; edge *= kGrowth) ++n;
  return n;
}
constexpr size_t kNumBuckets = 2 + count_log_buckets();  // + underflow and overflow buckets

size_t bucket_of(double ms) {
  if (ms < kLowestMs) return 0;
  const double position = std::log(ms / kLowestMs) / std::log(kGrowth);
  if (!(position < static_cast<double>(kNumBuckets - 2))) return kNumBuckets - 1;
  return 1 + static_cast<size_t>(position);
}

double bucket_midpoint(size_t bucket) {
  if (bucket == 0) return kLowestMs / 2;
  const double low = kLowestMs * std::pow(kGrowth, static_cast<double>(bucket - 1));
  return low * (1 + kGrowth) / 2;
}

}  // namespace

LatencyHistogram::LatencyHistogram() : buckets_(kNumBuckets, 0) {}

void LatencyHistogram::add(double milliseconds) {
  // Written so that NaN is also clamped: a broken timestamp must not poison the statistics.
  const double ms = milliseconds > 0 ? milliseconds : 0.0;
  ++buckets_[bucket_of(ms)];
  if (count_ == 0) {
    min_ = max_ = ms;
  } else {
    min_ = std::min(min_, ms);
    max_ = std::max(max_, ms);
  }
  ++count_;
  sum_ += ms;
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  if (other.count_ == 0) return;
  for (size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
  if (count_ == 0) {
    min_ = other.min_;
    max_ = other.max_;
  } else {
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }
  count_ += other.count_;
  sum_ += other.sum_;
}

double LatencyHistogram::percentile(double p) const {
  if (count_ == 0) return 0.0;
  p = std::clamp(std::isnan(p) ? 0.0 : p, 0.0, 100.0);
  // Nearest rank: the smallest value with at least p% of the samples at or below it.
  const auto rank = std::clamp<int64_t>(
      static_cast<int64_t>(std::ceil(p / 100.0 * static_cast<double>(count_))), 1, count_);
  // The extreme ranks are known exactly; no need to approximate them by a bucket.
  if (rank == 1) return min_;
  if (rank == count_) return max_;
  int64_t seen = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= rank) return std::clamp(bucket_midpoint(i), min_, max_);
  }
  return max_;
}

}  // namespace streaminfer
