#include "postprocess/classify.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace streaminfer {

std::vector<std::vector<ClassScore>> top_k_classes(const float* logits, int batch, int classes,
                                                   int k) {
  std::vector<std::vector<ClassScore>> result(static_cast<size_t>(std::max(batch, 0)));
  if (classes <= 0 || k <= 0) return result;
  const size_t keep = static_cast<size_t>(std::min(k, classes));
  std::vector<int> order(static_cast<size_t>(classes));
  for (int b = 0; b < batch; ++b) {
    const float* row = logits + static_cast<size_t>(b) * static_cast<size_t>(classes);
    auto& top = result[static_cast<size_t>(b)];
    top.reserve(keep);
    // A NaN or an infinity has no probability (softmax of it is NaN) and would break the sort's
    // ordering: the row gets no classes (OutputHealthMonitor says why).
    if (!std::all_of(row, row + classes, [](float v) { return std::isfinite(v); })) continue;
    // Softmax's denominator from the largest logit (no overflow); only the k kept classes need
    // their probability, the rest only their sum.
    const float max_logit = *std::max_element(row, row + classes);
    double sum = 0;
    for (int c = 0; c < classes; ++c) sum += std::exp(static_cast<double>(row[c] - max_logit));
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(
        order.begin(), order.begin() + static_cast<std::ptrdiff_t>(keep), order.end(),
        [row](int a, int b) { return row[a] > row[b] || (row[a] == row[b] && a < b); });
    for (size_t i = 0; i < keep; ++i) {
      const int c = order[i];
      top.push_back(
          {c, static_cast<float>(std::exp(static_cast<double>(row[c] - max_logit)) / sum)});
    }
  }
  return result;
}

}  // namespace streaminfer
