#include "bench_command.h"

#include <fmt/format.h>

#include <memory>

#include "bench/batching_experiment.h"
#include "bench/model_speed_experiment.h"
#include "bench/postprocess_experiment.h"
#include "commands.h"
#include "profile/system_info.h"

namespace streaminfer::app {
namespace {

constexpr const char* kExperiments = "postprocess, batching, model";

struct PostprocessCommand {
  PostprocessBenchOptions options;
  std::string output_dir = "bench-out/postprocess";
};

void add_postprocess_flags(CLI::App& command, PostprocessCommand& p) {
  auto& o = p.options;
  command.add_option("--batch", o.batch, "Frames per output tensor")->capture_default_str();
  command.add_option("--classes", o.classes, "Number of classes (4+nc rows)")
      ->capture_default_str();
  command.add_option("--anchors", o.anchors, "Anchors (8400 at 640x640)")->capture_default_str();
  command.add_option("--seed", o.seed, "Seed of the synthetic output")->capture_default_str();
  command.add_option("--reps", o.reps, "Timed calls of the fast versions")->capture_default_str();
  command.add_option("--naive-reps", o.naive_reps, "Timed calls of the naive loop")
      ->capture_default_str();
  command.add_option("--threads", o.threads, "LibTorch intra-op threads")->capture_default_str();
  command.add_option("--conf", o.postprocess.score_threshold, "Score threshold")
      ->capture_default_str();
  command.add_option("--iou", o.postprocess.iou_threshold, "NMS IoU threshold")
      ->capture_default_str();
  command.add_option("--model", o.model,
                     "Also time this model's forward (yolov8n, yolov8s or a TorchScript file) "
                     "to show postprocessing's share of it");
  command.add_option("--imgsz", o.input_size, "Model input size for --model")
      ->capture_default_str();
  command.add_option("--forward-reps", o.forward_reps, "Timed forwards of --model")
      ->capture_default_str();
  command.add_option("--output-dir", p.output_dir, "Where the CSV files go")->capture_default_str();
}

void print_system_block() {
  std::printf("%s", format_system_info(collect_system_info()).c_str());
  std::fflush(stdout);
}

int run_postprocess(const PostprocessCommand& p) {
  print_system_block();
  auto result = run_postprocess_bench(p.options);
  if (!result) {
    print_error(result.status().message());
    return 2;
  }
  std::printf("%s", format_postprocess_bench(result.value()).c_str());
  auto written = write_postprocess_bench_csv(result.value(), p.output_dir);
  if (!written) {
    print_error(written.status().message());
    return 1;
  }
  for (const auto& path : written.value()) std::printf("wrote %s\n", path.c_str());
  for (const auto& version : result.value().versions) {
    if (!version.same_boxes) {
      print_error(
          fmt::format("bench postprocess: '{}' kept other boxes than the vectorized "
                      "version: the comparison is void",
                      version.name));
      return 1;
    }
  }
  return 0;
}

struct BatchingCommand {
  BatchingBenchOptions options;
  std::string output_dir = "bench-out/batching";
};

void add_batching_flags(CLI::App& command, BatchingCommand& b) {
  auto& o = b.options;
  command.add_option("--streams", o.streams, "Camera counts to run, comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  command
      .add_option("--batch-sizes", o.batch_sizes,
                  "Fixed batch sizes, each run where it is <= the camera count (1 and the camera "
                  "count always run)")
      ->delimiter(',')
      ->capture_default_str();
  command.add_option("--frames", o.frames, "Frames per camera and run")->capture_default_str();
  command.add_option("--model", o.model, "yolov8n, yolov8s or a TorchScript file")
      ->capture_default_str();
  command.add_option("--imgsz", o.input_size, "Model input size")->capture_default_str();
  command.add_option("--threads", o.threads, "LibTorch intra-op threads (0: all cores)")
      ->capture_default_str();
  command.add_option("--width", o.width, "Camera width")->capture_default_str();
  command.add_option("--height", o.height, "Camera height")->capture_default_str();
  command.add_option("--warmup", o.warmup, "Forwards per batch size before its first run")
      ->capture_default_str();
  command.add_option("--output-dir", b.output_dir, "Where batching.csv goes")
      ->capture_default_str();
}

int run_batching(const BatchingCommand& b) {
  print_system_block();
  auto result = run_batching_bench(b.options);
  if (!result) {
    print_error(result.status().message());
    return 2;
  }
  std::printf("%s", format_batching_bench(result.value()).c_str());
  auto written = write_batching_bench_csv(result.value(), b.output_dir);
  if (!written) {
    print_error(written.status().message());
    return 1;
  }
  std::printf("wrote %s\n", written.value().c_str());
  return 0;
}

struct ModelCommand {
  ModelSpeedOptions options;
  std::string output_dir = "bench-out/model";
};

void add_model_flags(CLI::App& command, ModelCommand& m) {
  auto& o = m.options;
  command.add_option("--model", o.model, "yolov8n, yolov8s or a TorchScript file")
      ->capture_default_str();
  command.add_option("--weights", o.weights, "Parameters for a built-in architecture");
  command.add_option("--imgsz", o.input_size, "Model input size")->capture_default_str();
  command.add_option("--batch", o.batch, "Images per forward")->capture_default_str();
  command.add_option("--threads", o.threads, "LibTorch intra-op threads (0: all cores)")
      ->capture_default_str();
  command.add_option("--reps", o.reps, "Timed forwards per step")->capture_default_str();
  command.add_option("--warmup", o.warmup, "Untimed forwards per step first")
      ->capture_default_str();
  command.add_option("--output-dir", m.output_dir, "Where model_speed.csv goes")
      ->capture_default_str();
}

int run_model(const ModelCommand& m) {
  print_system_block();
  auto result = run_model_speed_bench(m.options);
  if (!result) {
    print_error(result.status().message());
    return 2;
  }
  std::printf("%s", format_model_speed_bench(result.value()).c_str());
  auto written = write_model_speed_bench_csv(result.value(), m.output_dir);
  if (!written) {
    print_error(written.status().message());
    return 1;
  }
  std::printf("wrote %s\n", written.value().c_str());
  return 0;
}

}  // namespace

std::function<int()> add_bench_command(CLI::App& app) {
  auto* bench = app.add_subcommand(
      "bench", "Reproducible experiments with a table at the end and CSV on disk");
  auto postprocess_state = std::make_shared<PostprocessCommand>();
  auto* postprocess = bench->add_subcommand(
      "postprocess",
      "YOLOv8 decode + NMS: naive per-anchor LibTorch loop vs per-anchor C++ vs vectorized");
  add_postprocess_flags(*postprocess, *postprocess_state);
  auto batching_state = std::make_shared<BatchingCommand>();
  auto* batching = bench->add_subcommand(
      "batching", "N cameras: one frame per inference (cameras in turn) vs batches across cameras");
  add_batching_flags(*batching, *batching_state);
  auto model_state = std::make_shared<ModelCommand>();
  auto* model = bench->add_subcommand(
      "model",
      "Model forward only: eager fp32, + fused BatchNorm, + channels-last, + bf16 (where it runs)");
  add_model_flags(*model, *model_state);
  return [bench, postprocess, postprocess_state, batching, batching_state, model,
          model_state]() -> int {
    if (!bench->parsed()) return -1;
    if (postprocess->parsed()) return run_postprocess(*postprocess_state);
    if (batching->parsed()) return run_batching(*batching_state);
    if (model->parsed()) return run_model(*model_state);
    // Not CLI11's require_subcommand: its message cannot name the word that was given.
    const auto given = bench->remaining();
    print_error(given.empty() ? fmt::format("bench: name an experiment: {}", kExperiments)
                              : fmt::format("bench: unknown experiment '{}'; experiments: {}",
                                            fmt::join(given, " "), kExperiments));
    return 2;
  };
}

}  // namespace streaminfer::app
