#pragma once
// What `run --mode retrain` runs on each batch instead of the inference forward: one fine-tuning
// step of a built-in model on the batch's labels, whose forward also gives the frames their
// results (detections [B, 4 + nc, A] or logits [B, nc], as InferenceBackend::infer would).
//
// The trainer owns its own copy of the model, built from the same architecture and weights as
// the backend: the backend's model is fused (BatchNorm folded into the convolutions, maybe in a
// reduced precision) and cannot be trained, and keeping the backend as it is leaves inference
// mode untouched.
#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

#include "profile/retrain_stats.h"
#include "streaminfer/geometry.h"
#include "streaminfer/status.h"

namespace streaminfer {

struct OnlineTrainerOptions {
  std::string model;    // a built-in architecture
  std::string weights;  // optional, as --weights
  int num_classes = 0;  // the backend's, so that both models have the same head
  double learning_rate = 1e-3;
};

struct OnlineStep {
  at::Tensor output;  // what infer() would return for the batch, from the training forward
  TrainStepRecord record;
};

// Ownership: the caller owns the trainer; step() is called from one thread at a time.
class OnlineTrainer {
 public:
  virtual ~OnlineTrainer() = default;
  // images: [B, 3, S, S] in [0, 1]; labels: each image's boxes in input pixels. A detector
  // learns the boxes; a classifier learns the class of each image's largest box (class 0 when
  // it has none).
  virtual OnlineStep step(const at::Tensor& images,
                          const std::vector<std::vector<GroundTruthBox>>& labels) = 0;
  // Writes the fine-tuned weights (save_weights: what --weights loads), frozen parts included.
  virtual Status save(const std::string& path) = 0;
  // One line for the start-up block and the summary: what is frozen and what is trained.
  virtual const std::string& description() const = 0;
};

// Fails naming the model when it is not a built-in architecture, or when the weights do not load.
Result<std::unique_ptr<OnlineTrainer>> create_online_trainer(const OnlineTrainerOptions& options);

}  // namespace streaminfer
