#pragma once
// Latency distribution with bounded memory (runs can last for days): log-spaced buckets with
// ~1% relative resolution from 1 microsecond to ~1000 s; count, sum, min and max are exact.
#include <cstdint>
#include <vector>

namespace streaminfer {

class LatencyHistogram {
 public:
  LatencyHistogram();
  void add(double milliseconds);  // negative values are clamped to 0
  void merge(const LatencyHistogram& other);

  int64_t count() const { return count_; }
  double sum() const { return sum_; }  // ms
  double mean() const { return count_ ? sum_ / static_cast<double>(count_) : 0.0; }
  double min() const { return count_ ? min_ : 0.0; }
  double max() const { return count_ ? max_ : 0.0; }
  // p in [0, 100]; nearest-rank on the bucket, reported as the bucket's midpoint clamped to
  // [min, max]. 0 when empty.
  double percentile(double p) const;

 private:
  std::vector<int64_t> buckets_;
  int64_t count_ = 0;
  double sum_ = 0, min_ = 0, max_ = 0;
};

}  // namespace streaminfer
