#pragma once
// Whether an int8 model says what its float32 original says, on frames neither calibrated on:
// the check --precision auto makes before it lets int8 run.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "streaminfer/geometry.h"

#include "infer/model_zoo.h"

namespace streaminfer {

// Below this, int8 is not "as accurate" and auto runs fp32. The bundled detector's int8 keeps
// fp32's mAP@0.5 (bench/results/accuracy/) and agrees with fp32 on 0.98 of the candidates of its
// held-out calibration scenes (AMD EPYC, 320).
inline constexpr double kMinInt8Agreement = 0.75;

struct OutputAgreement {
  double value = -1;        // 0..1; -1 when nothing could be compared
  std::string description;  // "0.93 of 412 candidates over 0.25" / "top-1 of 0.97 of 32 images"
};

// Detectors ([B, 4 + nc, A]): anchors whose best class score is at least `conf` in either output,
// the share of them over `conf` in both with the same class (intersection over union).
// Classifiers ([B, nc]): the share of images whose top-1 class is the same.
OutputAgreement output_agreement(ModelTask task, const at::Tensor& reference,
                                 const at::Tensor& candidate, float conf = 0.25f);

// Detectors on frames with ground truth (model-input pixels): both outputs decoded as `run`
// decodes them (score 0.25, NMS 0.45).
struct HeldOutMap50 {
  double reference = 0, candidate = 0;  // mAP@0.5 of the float32 output and of the other
  int64_t frames = 0, objects = 0;
  // "held-out mAP@0.5 NAME 0.955, fp32 0.955 (8 frames, 48 objects)"
  std::string describe(const std::string& candidate_name) const;
};
HeldOutMap50 held_out_map50(const at::Tensor& reference, const at::Tensor& candidate,
                            const std::vector<std::vector<GroundTruthBox>>& truth);

}  // namespace streaminfer
