#include "infer/int8_agreement.h"

#include <ATen/ATen.h>

#include <fmt/format.h>

#include "postprocess/detection_metrics.h"
#include "postprocess/yolo_decode.h"

namespace streaminfer {

OutputAgreement output_agreement(ModelTask task, const at::Tensor& reference,
                                 const at::Tensor& candidate, float conf) {
  OutputAgreement agreement;
  if (!reference.defined() || !candidate.defined() || reference.sizes() != candidate.sizes() ||
      reference.numel() == 0) {
    agreement.description = "nothing to compare";
    return agreement;
  }
  const auto a = reference.to(at::kFloat), b = candidate.to(at::kFloat);
  if (task == ModelTask::kClassify) {
    const auto same = (a.argmax(1) == b.argmax(1)).sum().item<int64_t>();
    agreement.value = static_cast<double>(same) / static_cast<double>(a.size(0));
    agreement.description =
        fmt::format("top-1 the same on {:.2f} of {} images", agreement.value, a.size(0));
    return agreement;
  }
  const auto best = [](const at::Tensor& out) { return out.narrow(1, 4, out.size(1) - 4).max(1); };
  const auto [score_a, class_a] = best(a);
  const auto [score_b, class_b] = best(b);
  const auto over_a = score_a >= conf, over_b = score_b >= conf;
  const auto either = (over_a | over_b).sum().item<int64_t>();
  const auto both = (over_a & over_b & (class_a == class_b)).sum().item<int64_t>();
  if (either == 0) {
    agreement.description = fmt::format("no candidate over {:.2f} in either", conf);
    return agreement;
  }
  agreement.value = static_cast<double>(both) / static_cast<double>(either);
  agreement.description =
      fmt::format("{:.2f} of {} candidates over {:.2f}", agreement.value, either, conf);
  return agreement;
}

HeldOutMap50 held_out_map50(const at::Tensor& reference, const at::Tensor& candidate,
                            const std::vector<std::vector<GroundTruthBox>>& truth) {
  const auto map50 = [&](const at::Tensor& output) {
    const auto out = output.to(at::kFloat).contiguous();
    const auto detections =
        decode_yolov8(out.data_ptr<float>(), static_cast<int>(out.size(0)),
                      static_cast<int>(out.size(1)), static_cast<int>(out.size(2)), {});
    DetectionEvaluator evaluator(static_cast<int>(out.size(1)) - 4);
    for (size_t i = 0; i < detections.size() && i < truth.size(); ++i) {
      evaluator.add(detections[i], truth[i]);
    }
    return evaluator.result();
  };
  const AccuracyResult fp32 = map50(reference), other = map50(candidate);
  return {fp32.map50, other.map50, fp32.images, fp32.ground_truths};
}

std::string HeldOutMap50::describe(const std::string& candidate_name) const {
  return fmt::format("held-out mAP@0.5 {} {:.3f}, fp32 {:.3f} ({} frames, {} objects)",
                     candidate_name, candidate, reference, frames, objects);
}

}  // namespace streaminfer
