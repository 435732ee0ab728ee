#include "bench_command.h"

#include <fmt/format.h>

#include <memory>

#include "bench/postprocess_experiment.h"
#include "commands.h"
#include "profile/system_info.h"

namespace streaminfer::app {
namespace {

constexpr const char* kExperiments = "postprocess";

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

int run_postprocess(const PostprocessCommand& p) {
  std::printf("%s", format_system_info(collect_system_info()).c_str());
  std::fflush(stdout);
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

}  // namespace

std::function<int()> add_bench_command(CLI::App& app) {
  auto* bench = app.add_subcommand(
      "bench", "Reproducible experiments with a table at the end and CSV on disk");
  auto postprocess_state = std::make_shared<PostprocessCommand>();
  auto* postprocess = bench->add_subcommand(
      "postprocess",
      "YOLOv8 decode + NMS: naive per-anchor LibTorch loop vs per-anchor C++ vs vectorized");
  add_postprocess_flags(*postprocess, *postprocess_state);
  return [bench, postprocess, postprocess_state]() -> int {
    if (!bench->parsed()) return -1;
    if (postprocess->parsed()) return run_postprocess(*postprocess_state);
    // Not CLI11's require_subcommand: its message cannot name the word that was given.
    const auto given = bench->remaining();
    print_error(given.empty() ? fmt::format("bench: name an experiment: {}", kExperiments)
                              : fmt::format("bench: unknown experiment '{}'; experiments: {}",
                                            fmt::join(given, " "), kExperiments));
    return 2;
  };
}

}  // namespace streaminfer::app
