#include "bench/naive_postprocess.h"

#include <ATen/ATen.h>

#include <list>

namespace streaminfer {

std::vector<std::vector<Detection>> decode_yolov8_naive(const at::Tensor& output,
                                                        const PostprocessOptions& options) {
  const int64_t batch = output.size(0), anchors = output.size(2);
  std::vector<std::vector<Detection>> result(static_cast<size_t>(batch));
  for (int64_t b = 0; b < batch; ++b) {
    std::list<Detection> candidates;
    for (int64_t a = 0; a < anchors; ++a) {
      const at::Tensor column = output[b].select(1, a);  // [4+nc]
      const auto [best, best_class] = column.slice(0, 4).max(0);
      const float score = best.item<float>();
      if (score <= options.score_threshold) continue;
      const float cx = column[0].item<float>(), cy = column[1].item<float>();
      const float hw = column[2].item<float>() * 0.5f, hh = column[3].item<float>() * 0.5f;
      candidates.push_back({{cx - hw, cy - hh, cx + hw, cy + hh},
                            score,
                            static_cast<int>(best_class.item<int64_t>())});
    }
    // Stable: equal scores stay in anchor order, as in decode_yolov8.
    candidates.sort([](const Detection& x, const Detection& y) { return x.score > y.score; });
    if (candidates.size() > static_cast<size_t>(options.max_candidates)) {
      candidates.resize(static_cast<size_t>(options.max_candidates));
    }
    auto& kept = result[static_cast<size_t>(b)];
    while (!candidates.empty() && static_cast<int>(kept.size()) < options.max_detections) {
      const Detection best = candidates.front();
      candidates.pop_front();
      kept.push_back(best);
      candidates.remove_if([&](const Detection& d) {
        return (options.class_agnostic || d.class_id == best.class_id) &&
               iou(d.box, best.box) > options.iou_threshold;
      });
    }
  }
  return result;
}

}  // namespace streaminfer
