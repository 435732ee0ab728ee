#pragma once
// `streaminfer train`: trains a YOLOv8-family detector on the synthetic scenes, whose ground truth
// is exact, with the YOLOv8 loss (train/detection_loss.h), AdamW, warm-up then cosine learning
// rate, and an exponential moving average of the weights (what is validated and saved).
// Checkpoints after every epoch and resumes from one; validates mAP on scenes from seeds that
// training never draws.
#include <cstdint>
#include <iosfwd>
#include <string>

#include "streaminfer/status.h"

namespace streaminfer {

// Scene seeds: training draws from [kTrainingSeedBase, kTrainingSeedBase + 1e6); validation uses
// [kValidationSeedBase, ...). Seeds below 1000 (the synthetic cameras of `run`, whose default
// seeds are 1, 2, 3...) are never trained on, so any of them is a held-out camera.
inline constexpr uint32_t kTrainingSeedBase = 1'000'000;
inline constexpr uint32_t kValidationSeedBase = 500'000;

struct TrainOptions {
  std::string model = "yolov8n";  // yolov8n or yolov8s
  int input_size = 320;
  int epochs = 30;
  int steps_per_epoch = 100;
  int batch_size = 16;
  double learning_rate = 0.002;  // peak, after the warm-up
  double weight_decay = 5e-4;    // on convolution weights only
  int warmup_steps = 200;
  int threads = 0;  // 0: all cores
  uint64_t seed = 1;
  int validation_images = 100;
  std::string output = "yolov8n_synthetic.pt";  // the best weights (float16), by val mAP@0.5:0.95
  std::string checkpoint;                       // default: output + ".ckpt"
  bool resume = false;                          // continue from the checkpoint
  std::string init_weights;                     // start from these weights instead of random ones
  std::string log_csv;                          // default: output + ".csv"; one row per epoch
  bool progress = true;                         // a progress bar on stderr
};

struct TrainSummary {
  int epochs_run = 0;
  double best_map50 = 0, best_map50_95 = 0;
  int best_epoch = 0;
  double seconds = 0;
};

// The checks train_detector starts with: an error names the flag.
Status validate_train_options(const TrainOptions& options);

// Prints one line per epoch to `out`; the progress bar goes to stderr.
Result<TrainSummary> train_detector(const TrainOptions& options, std::ostream& out);

}  // namespace streaminfer
