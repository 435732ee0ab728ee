#include "postprocess/yolo_decode.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "postprocess/nms.h"

namespace streaminfer {
namespace {

// Both implementations build boxes with this one function so their floats are identical.
Box box_from_center(float cx, float cy, float w, float h) {
  const float hw = w * 0.5f;
  const float hh = h * 0.5f;
  return Box{cx - hw, cy - hh, cx + hw, cy + hh};
}

// A candidate with a NaN or infinite score or box would be written as JSON null: it is left out
// (OutputHealthMonitor says so), in both implementations alike.
bool finite_detection(const Box& box, float score) {
  return std::isfinite(score) && std::isfinite(box.x1) && std::isfinite(box.y1) &&
         std::isfinite(box.x2) && std::isfinite(box.y2);
}

// Candidate order shared by both implementations: score descending, anchor ascending. It decides
// which candidates survive max_candidates and, through NMS's index tie-break, equal scores.
struct Candidate {
  float score;
  int anchor;
};
bool candidate_before(const Candidate& a, const Candidate& b) {
  if (a.score != b.score) return a.score > b.score;
  return a.anchor < b.anchor;
}

std::vector<Detection> finish(const std::vector<Detection>& candidates,
                              const PostprocessOptions& options, bool reference) {
  const std::vector<int> keep =
      reference
          ? nms_reference(candidates, options.iou_threshold, options.class_agnostic,
                          options.max_detections)
          : nms(candidates, options.iou_threshold, options.class_agnostic, options.max_detections);
  std::vector<Detection> out;
  out.reserve(keep.size());
  for (int i : keep) out.push_back(candidates[i]);
  return out;
}

// One class row into the per-anchor best: a compare and two selects per lane. The class select
// is spelled as a bit mask because a plain ?: on the int only vectorizes with blendv (AVX), and
// the default x86-64 target is SSE2 (__restrict: the rows cannot alias the best arrays;
// strict > keeps the lower class on ties, as the reference does).
void running_max(const float* __restrict row, int c, size_t n, float* __restrict best_score,
                 int* __restrict best_class) {
  for (size_t a = 0; a < n; ++a) {
    const float s = row[a];
    const float best = best_score[a];
    const int mask = -static_cast<int>(s > best);  // all ones where this class wins
    best_score[a] = s > best ? s : best;
    best_class[a] = (c & mask) | (best_class[a] & ~mask);
  }
}

// Per-thread buffers: after the first call of a given size, decoding allocates only its result.
struct DecodeScratch {
  std::vector<float> best_score;
  std::vector<int> best_class;
  std::vector<Candidate> candidates;
  std::vector<Detection> detections;
};

}  // namespace

std::vector<std::vector<Detection>> decode_yolov8(const float* output, int batch, int channels,
                                                  int anchors, const PostprocessOptions& options) {
  std::vector<std::vector<Detection>> result(std::max(batch, 0));
  const int nc = channels - 4;
  if (output == nullptr || nc <= 0 || anchors <= 0 || options.max_candidates <= 0) return result;
  const size_t a_count = static_cast<size_t>(anchors);

  thread_local DecodeScratch scratch;
  scratch.best_score.resize(a_count);
  scratch.best_class.resize(a_count);
  float* best_score = scratch.best_score.data();
  int* best_class = scratch.best_class.data();

  for (int b = 0; b < batch; ++b) {
    const float* frame = output + static_cast<size_t>(b) * channels * a_count;
    const float* scores = frame + 4 * a_count;

    // Running max over whole class rows: contiguous loads and a compare/select per lane, which
    // the compiler vectorizes; a per-anchor loop over classes would stride by A floats instead.
    std::copy(scores, scores + a_count, best_score);
    std::fill(best_class, best_class + a_count, 0);
    for (int c = 1; c < nc; ++c) {
      const float* row = scores + static_cast<size_t>(c) * a_count;
      running_max(row, c, a_count, best_score, best_class);
    }

    auto& candidates = scratch.candidates;
    candidates.clear();
    for (size_t a = 0; a < a_count; ++a) {
      if (best_score[a] > options.score_threshold) {
        candidates.push_back({best_score[a], static_cast<int>(a)});
      }
    }
    if (candidates.size() > static_cast<size_t>(options.max_candidates)) {
      const auto cut = candidates.begin() + options.max_candidates;
      std::nth_element(candidates.begin(), cut, candidates.end(), candidate_before);
      candidates.erase(cut, candidates.end());
    }
    std::sort(candidates.begin(), candidates.end(), candidate_before);

    auto& detections = scratch.detections;
    detections.clear();
    for (const Candidate& cand : candidates) {
      const size_t a = static_cast<size_t>(cand.anchor);
      const Box box = box_from_center(frame[a], frame[a_count + a], frame[2 * a_count + a],
                                      frame[3 * a_count + a]);
      if (finite_detection(box, cand.score)) detections.push_back({box, cand.score, best_class[a]});
    }
    result[b] = finish(detections, options, /*reference=*/false);
  }
  return result;
}

std::vector<std::vector<Detection>> decode_yolov8_reference(const float* output, int batch,
                                                            int channels, int anchors,
                                                            const PostprocessOptions& options) {
  std::vector<std::vector<Detection>> result(std::max(batch, 0));
  const int nc = channels - 4;
  if (output == nullptr || nc <= 0 || anchors <= 0 || options.max_candidates <= 0) return result;
  for (int b = 0; b < batch; ++b) {
    const float* frame = output + static_cast<size_t>(b) * channels * anchors;
    auto at = [&](int row, int a) { return frame[static_cast<size_t>(row) * anchors + a]; };
    std::vector<Candidate> candidates;
    std::vector<int> classes(anchors, 0);
    for (int a = 0; a < anchors; ++a) {
      float best = at(4, a);
      for (int c = 1; c < nc; ++c) {
        if (at(4 + c, a) > best) {
          best = at(4 + c, a);
          classes[a] = c;
        }
      }
      if (best > options.score_threshold) candidates.push_back({best, a});
    }
    std::sort(candidates.begin(), candidates.end(), candidate_before);
    if (candidates.size() > static_cast<size_t>(options.max_candidates)) {
      candidates.resize(options.max_candidates);
    }
    std::vector<Detection> detections;
    for (const Candidate& cand : candidates) {
      const int a = cand.anchor;
      const Box box = box_from_center(at(0, a), at(1, a), at(2, a), at(3, a));
      if (finite_detection(box, cand.score)) detections.push_back({box, cand.score, classes[a]});
    }
    result[b] = finish(detections, options, /*reference=*/true);
  }
  return result;
}

bool same_detections(const std::vector<std::vector<Detection>>& a,
                     const std::vector<std::vector<Detection>>& b) {
  if (a.size() != b.size()) return false;
  for (size_t f = 0; f < a.size(); ++f) {
    if (a[f].size() != b[f].size()) return false;
    for (size_t i = 0; i < a[f].size(); ++i) {
      const Detection &x = a[f][i], &y = b[f][i];
      if (x.box.x1 != y.box.x1 || x.box.y1 != y.box.y1 || x.box.x2 != y.box.x2 ||
          x.box.y2 != y.box.y2 || x.score != y.score || x.class_id != y.class_id) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace streaminfer
