#pragma once
// Step changes in a latency series ("latency stepped from A ms to B ms at iteration K"), for
// `bench idle-gap`. Pure C++, no LibTorch, so the unit tests reach it.
//
// Method: optimal partitioning (Jackson et al. 2005; PELT without the pruning) under an L1 cost.
// A segment's cost is sum |x_i - median(segment)|, the negative log-likelihood of a Laplace
// distribution: each segment is summarised by its median, so a lone spike (a timer tick, a page
// fault) moves nothing, where a squared-error cost would bend the whole segment towards it. The
// partition minimises  sum of segment costs + penalty * number of change points  exactly, by
// dynamic programming over the segment start; for a fixed end the start walks backwards and a
// running median (two heaps with their sums) gives each cost in O(log n), so the search is
// O(n^2 log n): a few milliseconds for a few thousand iterations.
//   penalty = penalty_factor * sigma * ln(n), with sigma a robust noise scale: the median
//   absolute first difference / (0.6745 * sqrt 2), which a step or a spike barely moves.
// Every segment is at least min_segment long, so a burst shorter than that is not a level.
// Then, because a statistically real 3% shift is not what the experiment asks about, adjacent
// segments whose medians differ by less than min_relative_step are merged (closest pair first,
// medians recomputed after each merge) until every remaining step is at least that large.
// Limits: a slow drift comes out as one or more steps of at least min_relative_step (or none),
// not as a ramp; a step is located to within a few iterations when the noise is comparable to it.
#include <cstddef>
#include <string>
#include <vector>

namespace streaminfer {

struct ChangePointOptions {
  int min_segment = 10;             // iterations in every segment; spikes shorter are ignored
  double min_relative_step = 0.15;  // the higher level must exceed the lower by this fraction
  double penalty_factor = 3.0;      // cost of one more change point, in sigma * ln(n)
};

struct LatencySegment {
  size_t begin = 0, end = 0;  // [begin, end) indices into the series
  double median = 0;
};

struct LatencyStep {
  size_t iteration = 0;  // first index of the new level
  double before = 0;     // median of the segment before
  double after = 0;      // median of the segment from `iteration` on
  double relative() const { return before != 0 ? after / before - 1.0 : 0.0; }
};

struct ChangePoints {
  std::vector<LatencySegment> segments;  // cover the series in order; empty for an empty series
  std::vector<LatencyStep> steps;        // one per boundary between segments
  double noise_scale = 0;                // sigma above, in the series' unit
};

// Never fails: a series shorter than 2 * min_segment has one segment and no step. Options out
// of range are clamped (min_segment to >= 1, the others to >= 0).
ChangePoints detect_change_points(const std::vector<double>& series,
                                  const ChangePointOptions& options = {});

// "latency stepped from 12.3 ms to 18.9 ms at iteration 140 (+54%)"
std::string describe_step(const LatencyStep& step);

// Median of values (mean of the two middle ones for an even count); 0 for none.
double median_of(std::vector<double> values);

}  // namespace streaminfer
