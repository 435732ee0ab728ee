#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "profile/retrain_stats.h"
#include "streaminfer/frame.h"

namespace streaminfer {

class InferenceBackend;

// A batch on its way from preprocess to postprocess. `input` is a pooled [max_batch, 3, H, W]
// tensor of which the first frames.size() rows are filled; it goes back to the pool once
// inference is done with it.
struct Batch {
  int64_t step = 0;
  std::vector<FramePtr> frames;
  // The model the batch was preprocessed for, which infers and decodes it: a service that
  // changes its model mid-run finishes the batches of the old one with it (Pipeline::use_backend)
  // and frees it after their last.
  std::shared_ptr<InferenceBackend> model;
  at::Tensor input;
  at::Tensor output;                     // [n, 4 + nc, A] (detector) or [n, nc] (classifier)
  int64_t read_start = 0, read_end = 0;  // batcher: asked for frames -> batch formed
  int64_t prep_start = 0, prep_end = 0;
  int64_t infer_start = 0, infer_end = 0;
  int64_t post_start = 0, post_end = 0;
  std::optional<TrainStepRecord> train;  // retrain mode: the step that ran instead of inference
};
using BatchPtr = std::unique_ptr<Batch>;

}  // namespace streaminfer
