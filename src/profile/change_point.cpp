#include "profile/change_point.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <queue>

namespace streaminfer {
namespace {

// Median and L1 cost (sum |x - median|) of a growing set, each in O(log n) per insertion: the
// lower half in a max-heap, the upper half in a min-heap, with their sums.
class RunningL1Cost {
 public:
  void add(double x) {
    if (lower_.empty() || x <= lower_.top()) {
      lower_.push(x);
      lower_sum_ += x;
    } else {
      upper_.push(x);
      upper_sum_ += x;
    }
    // Keep |lower| == |upper| or |lower| == |upper| + 1, so lower's top is a median.
    if (lower_.size() > upper_.size() + 1) {
      const double moved = lower_.top();
      lower_.pop();
      lower_sum_ -= moved;
      upper_.push(moved);
      upper_sum_ += moved;
    } else if (upper_.size() > lower_.size()) {
      const double moved = upper_.top();
      upper_.pop();
      upper_sum_ -= moved;
      lower_.push(moved);
      lower_sum_ += moved;
    }
  }

  double cost() const {
    if (lower_.empty()) return 0.0;
    const double m = lower_.top();
    const double lower_n = static_cast<double>(lower_.size());
    const double upper_n = static_cast<double>(upper_.size());
    // Rounding in the running sums can leave a tiny negative; the cost is never below zero.
    return std::max(0.0, (m * lower_n - lower_sum_) + (upper_sum_ - m * upper_n));
  }

 private:
  std::priority_queue<double> lower_;
  std::priority_queue<double, std::vector<double>, std::greater<double>> upper_;
  double lower_sum_ = 0, upper_sum_ = 0;
};

// sigma of the noise from first differences: a level shift changes one difference, a spike two,
// so their median stays the noise's. 0.6745 turns a median absolute value into a standard
// deviation for normal noise; sqrt 2 because a difference carries two samples' noise.
double robust_noise_scale(const std::vector<double>& x) {
  if (x.size() < 2) return 0.0;
  std::vector<double> diffs;
  diffs.reserve(x.size() - 1);
  for (size_t i = 1; i < x.size(); ++i) diffs.push_back(std::fabs(x[i] - x[i - 1]));
  return median_of(std::move(diffs)) / (0.6745 * std::sqrt(2.0));
}

// Boundaries (segment starts after the first) of the partition that minimises the total L1 cost
// plus `penalty` per change point, every segment at least `min_segment` long.
std::vector<size_t> optimal_partition(const std::vector<double>& x, size_t min_segment,
                                      double penalty) {
  const size_t n = x.size();
  if (n < 2 * min_segment) return {};
  constexpr double kInf = std::numeric_limits<double>::infinity();
  // best[t]: least cost of x[0, t) cut into valid segments, plus penalty per segment (the
  // first segment's penalty is cancelled by best[0] = -penalty). last[t]: start of its last one.
  std::vector<double> best(n + 1, kInf);
  std::vector<size_t> last(n + 1, 0);
  best[0] = -penalty;
  for (size_t t = min_segment; t <= n; ++t) {
    RunningL1Cost segment;
    for (size_t s = t; s-- > 0;) {
      segment.add(x[s]);
      if (t - s < min_segment || !std::isfinite(best[s])) continue;
      const double candidate = best[s] + segment.cost() + penalty;
      if (candidate < best[t]) {
        best[t] = candidate;
        last[t] = s;
      }
    }
  }
  std::vector<size_t> boundaries;
  for (size_t t = n; last[t] > 0; t = last[t]) boundaries.push_back(last[t]);
  std::reverse(boundaries.begin(), boundaries.end());
  return boundaries;
}

double segment_median(const std::vector<double>& x, size_t begin, size_t end) {
  return median_of(std::vector<double>(x.begin() + static_cast<std::ptrdiff_t>(begin),
                                       x.begin() + static_cast<std::ptrdiff_t>(end)));
}

// Relative size of the step between two levels, against the smaller one so that a step up and
// the same step back down count alike when merging.
double relative_gap(double a, double b) {
  const double low = std::min(std::fabs(a), std::fabs(b));
  if (low == 0) return a == b ? 0.0 : std::numeric_limits<double>::infinity();
  return std::fabs(a - b) / low;
}

}  // namespace

double median_of(std::vector<double> values) {
  if (values.empty()) return 0.0;
  const size_t mid = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid), values.end());
  const double upper = values[mid];
  if (values.size() % 2 == 1) return upper;
  const double lower =
      *std::max_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid));
  return (lower + upper) / 2.0;
}

ChangePoints detect_change_points(const std::vector<double>& series,
                                  const ChangePointOptions& options) {
  ChangePoints result;
  if (series.empty()) return result;
  const size_t min_segment = static_cast<size_t>(std::max(1, options.min_segment));
  const double min_relative = std::max(0.0, options.min_relative_step);
  const size_t n = series.size();
  result.noise_scale = robust_noise_scale(series);
  // A noiseless series still needs a positive penalty, or a flat stretch could be cut for free.
  const double scale = std::max(result.noise_scale, 1e-9 * std::max(1.0, std::fabs(series[0])));
  const double penalty =
      std::max(0.0, options.penalty_factor) * scale * std::log(static_cast<double>(n) + 1.0);

  std::vector<size_t> starts = {0};
  for (size_t b : optimal_partition(series, min_segment, penalty)) starts.push_back(b);
  for (size_t i = 0; i < starts.size(); ++i) {
    const size_t end = i + 1 < starts.size() ? starts[i + 1] : n;
    result.segments.push_back({starts[i], end, segment_median(series, starts[i], end)});
  }
  // Merge the closest adjacent pair while it is closer than the threshold.
  while (result.segments.size() > 1) {
    size_t closest = 0;
    double closest_gap = std::numeric_limits<double>::infinity();
    for (size_t i = 0; i + 1 < result.segments.size(); ++i) {
      const double gap = relative_gap(result.segments[i].median, result.segments[i + 1].median);
      if (gap < closest_gap) {
        closest_gap = gap;
        closest = i;
      }
    }
    if (closest_gap >= min_relative) break;
    LatencySegment& kept = result.segments[closest];
    kept.end = result.segments[closest + 1].end;
    kept.median = segment_median(series, kept.begin, kept.end);
    result.segments.erase(result.segments.begin() + static_cast<std::ptrdiff_t>(closest) + 1);
  }
  for (size_t i = 1; i < result.segments.size(); ++i) {
    result.steps.push_back(
        {result.segments[i].begin, result.segments[i - 1].median, result.segments[i].median});
  }
  return result;
}

std::string describe_step(const LatencyStep& step) {
  return fmt::format("latency stepped from {:.2f} ms to {:.2f} ms at iteration {} ({:+.0f}%)",
                     step.before, step.after, step.iteration, 100.0 * step.relative());
}

}  // namespace streaminfer
