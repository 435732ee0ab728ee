#include "infer/int8_agreement.h"

#include <ATen/ATen.h>

#include <fmt/format.h>

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

}  // namespace streaminfer
