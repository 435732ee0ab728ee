#pragma once
// Postprocessing of classifier outputs: [B, nc] logits -> softmax -> the k most probable classes
// per frame.
#include <vector>

#include "streaminfer/geometry.h"

namespace streaminfer {

// For each of the `batch` rows of `logits` (row-major, `classes` floats a row): the `k` classes
// of highest softmax probability (fewer when there are fewer classes), best first; ties go to
// the lower class id. A row with a NaN or infinite logit has no probabilities: no classes.
std::vector<std::vector<ClassScore>> top_k_classes(const float* logits, int batch, int classes,
                                                   int k);

}  // namespace streaminfer
