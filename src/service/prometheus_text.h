#pragma once
// The Prometheus text exposition format (version 0.0.4), written by hand: Debian 12 has no
// Prometheus client library for C++. Each family is announced once (# HELP, # TYPE) and its
// samples follow it; label values are escaped as the format requires (backslash, double quote,
// newline). `promtool check metrics` reads what this writes (tested).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace streaminfer {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// A histogram with fixed upper bounds (ascending; +Inf is implied).
class PrometheusHistogram {
 public:
  explicit PrometheusHistogram(std::vector<double> bounds);
  void observe(double value);
  const std::vector<double>& bounds() const { return bounds_; }
  // Observations <= bounds()[i], cumulative as the format wants; the last entry is +Inf.
  std::vector<int64_t> cumulative_counts() const;
  int64_t count() const { return count_; }
  double sum() const { return sum_; }

 private:
  std::vector<double> bounds_;
  std::vector<int64_t> counts_;  // per bucket, not cumulative; one more than bounds_ (+Inf)
  int64_t count_ = 0;
  double sum_ = 0;
};

class PrometheusText {
 public:
  PrometheusText() = default;
  // Labels every sample carries first (a fleet worker's `worker`).
  explicit PrometheusText(MetricLabels common_labels) : common_labels_(std::move(common_labels)) {}
  // Starts a family: `type` is counter, gauge, histogram or untyped.
  void family(const std::string& name, const std::string& type, const std::string& help);
  void sample(const std::string& name, const MetricLabels& labels, double value);
  // A histogram family's samples (_bucket with le, _sum, _count) under `labels`.
  void histogram(const std::string& name, const MetricLabels& labels,
                 const PrometheusHistogram& histogram);
  const std::string& text() const { return text_; }

 private:
  MetricLabels common_labels_;
  std::string text_;
};

// Escapes a label value ("\\", "\"", "\n"); other bytes pass as they are (UTF-8).
std::string escape_label_value(const std::string& value);
// A number as the format writes it: integers without a fraction, +Inf, -Inf and NaN by name.
std::string format_metric_value(double value);

}  // namespace streaminfer
