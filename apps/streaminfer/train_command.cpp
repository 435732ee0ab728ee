#include "train_command.h"

#include <iostream>
#include <memory>

#include "commands.h"
#include "common/path_guard.h"
#include "train/detector_trainer.h"

namespace streaminfer::app {

std::function<int()> add_train_command(CLI::App& app) {
  auto options = std::make_shared<TrainOptions>();
  auto* train = app.add_subcommand(
      "train",
      "Train a YOLOv8 detector on synthetic scenes (exact ground truth): loss and validation "
      "mAP per epoch, a checkpoint after each, --resume to continue");
  train->add_option("--model", options->model, "yolov8n or yolov8s")->capture_default_str();
  train->add_option("--input-size", options->input_size, "Square input, a multiple of 32")
      ->capture_default_str();
  train->add_option("--epochs", options->epochs)->capture_default_str();
  train->add_option("--steps-per-epoch", options->steps_per_epoch)->capture_default_str();
  train->add_option("--batch-size", options->batch_size, "Scenes per step")->capture_default_str();
  train->add_option("--lr", options->learning_rate, "Peak learning rate (AdamW)")
      ->capture_default_str();
  train->add_option("--weight-decay", options->weight_decay)->capture_default_str();
  train->add_option("--warmup-steps", options->warmup_steps)->capture_default_str();
  train->add_option("--threads", options->threads, "LibTorch threads (0: all cores)")
      ->capture_default_str();
  train->add_option("--seed", options->seed, "Initial weights and the scenes drawn")
      ->capture_default_str();
  train->add_option("--val-images", options->validation_images, "Validation scenes per epoch")
      ->capture_default_str();
  train->add_option("-o,--output", options->output, "Best weights (float16) go here")
      ->capture_default_str();
  train->add_option("--checkpoint", options->checkpoint,
                    "Checkpoint written after every epoch (default: OUTPUT.ckpt)");
  train->add_flag("--resume", options->resume, "Continue from the checkpoint");
  train->add_option("--init-weights", options->init_weights, "Start from these weights");
  train->add_option("--log", options->log_csv, "Per-epoch CSV (default: OUTPUT.csv)");
  train->add_flag("!--no-progress", options->progress, "No progress bar");
  return [train, options]() -> int {
    if (!train->parsed()) return -1;
    if (Status valid = validate_train_options(*options); !valid) {
      print_error(valid.message());
      return 2;
    }
    // Its outputs against each other and the weights it starts from, before an epoch is spent.
    // (With --resume the checkpoint is read and then rewritten, as intended.)
    const TrainOptions& o = *options;
    PathPlan plan;
    plan.input("train --init-weights", o.init_weights);
    plan.output("train -o", o.output);
    plan.output("train --checkpoint", o.checkpoint.empty() ? o.output + ".ckpt" : o.checkpoint);
    plan.output("train --log", o.log_csv.empty() ? o.output + ".csv" : o.log_csv);
    if (Status paths = plan.check(); !paths) {
      print_error(paths.message());
      return 2;
    }
    auto summary = train_detector(*options, std::cout);
    if (!summary) {
      print_error(summary.status().message());
      return 1;
    }
    return 0;
  };
}

}  // namespace streaminfer::app
