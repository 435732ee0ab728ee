#include "bench_command.h"

#include <fmt/format.h>

#include <filesystem>
#include <memory>

#include "bench/batching_experiment.h"
#include "bench/contention_experiment.h"
#include "bench/decode_experiment.h"
#include "bench/frames_experiment.h"
#include "bench/idle_gap_experiment.h"
#include "bench/model_speed_experiment.h"
#include "bench/placement_experiment.h"
#include "bench/postprocess_experiment.h"
#include "commands.h"
#include "common/path_guard.h"
#include "profile/system_info.h"
#include "report/bench_plot.h"

namespace streaminfer::app {
namespace {

constexpr const char* kExperiments =
    "postprocess, batching, frames, idle-gap, placement, decode, model, contention, gpu";

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

// The system block, printed first: results only compare with the machine they came from.
std::string print_system_block() {
  const std::string text = format_system_info(collect_system_info());
  std::printf("%s", text.c_str());
  std::fflush(stdout);
  return text;
}

// What every experiment does once it has a result: print the table, write its CSV files and
// DIR/<name>.html (the table and the charts). 0, or 1 when a file could not be written.
int report_experiment(const std::string& system_text, const std::string& table,
                      Result<std::vector<std::string>> csv_files, BenchPlot plot,
                      const std::string& dir, const std::string& name) {
  std::printf("%s", table.c_str());
  if (!csv_files) {
    print_error(csv_files.status().message());
    return 1;
  }
  for (const auto& path : csv_files.value()) std::printf("wrote %s\n", path.c_str());
  plot.text = system_text + table;
  const std::string html = (std::filesystem::path(dir) / (name + ".html")).string();
  const Status written = write_bench_plot(html, plot);
  if (!written) {
    print_error(written.message());
    return 1;
  }
  std::printf("wrote %s\n", html.c_str());
  return 0;
}

// The experiment's folder and page against what it reads, and for writability, before it runs
// (common/path_guard.h). Prints the error; false when the experiment must not run.
bool bench_paths_ok(const std::string& dir, const std::string& name,
                    std::initializer_list<std::pair<const char*, std::string>> inputs) {
  PathPlan plan;
  for (const auto& [flag, path] : inputs) {
    std::error_code ec;
    // A built-in model's name, a URI or a synthetic camera is no file.
    if (!path.empty() && is_local_file_uri(path) && std::filesystem::exists(path, ec)) {
      plan.input(std::string("bench ") + flag, path);
    }
  }
  plan.output_folder("bench --output-dir", dir);
  plan.output("bench's page", (std::filesystem::path(dir) / (name + ".html")).string());
  if (Status checked = plan.check(); !checked) {
    print_error(checked.message());
    return false;
  }
  return true;
}

Result<std::vector<std::string>> as_list(Result<std::string> path) {
  if (!path) return path.status();
  return std::vector<std::string>{path.value()};
}

int run_postprocess(const PostprocessCommand& p) {
  if (!bench_paths_ok(p.output_dir, "postprocess", {{"--model", p.options.model}})) return 2;
  const std::string system_text = print_system_block();
  auto result = run_postprocess_bench(p.options);
  if (!result) {
    print_error(result.status().message());
    return 2;
  }
  const int rc =
      report_experiment(system_text, format_postprocess_bench(result.value()),
                        write_postprocess_bench_csv(result.value(), p.output_dir),
                        postprocess_bench_plot(result.value()), p.output_dir, "postprocess");
  if (rc != 0) return rc;
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
  command
      .add_option("--tensor-cache-mb", o.tensor_cache_mb,
                  "CPU tensor memory kept for reuse (0: LibTorch's allocator)")
      ->capture_default_str();
  command.add_option("--width", o.width, "Camera width")->capture_default_str();
  command.add_option("--height", o.height, "Camera height")->capture_default_str();
  command.add_option("--warmup", o.warmup, "Forwards per batch size before its first run")
      ->capture_default_str();
  command.add_option("--output-dir", b.output_dir, "Where batching.csv goes")
      ->capture_default_str();
}

int run_batching(const BatchingCommand& b) {
  if (!bench_paths_ok(b.output_dir, "batching", {{"--model", b.options.model}})) return 2;
  const std::string system_text = print_system_block();
  auto result = run_batching_bench(b.options);
  if (!result) {
    print_error(result.status().message());
    return 2;
  }
  return report_experiment(system_text, format_batching_bench(result.value()),
                           as_list(write_batching_bench_csv(result.value(), b.output_dir)),
                           batching_bench_plot(result.value()), b.output_dir, "batching");
}

struct FramesCommand {
  FramesBenchOptions options;
  std::string output_dir = "bench-out/frames";
  bool no_serial = false, no_pipelined = false;
};

void add_frames_flags(CLI::App& command, FramesCommand& f) {
  auto& o = f.options;
  command.add_option("--source", o.source,
                     "Video file or source URI (default: a synthetic 1280x720 H.264 clip written "
                     "to the output directory)");
  command.add_option("--frames", o.frames, "Frames per run, from the start of the video")
      ->capture_default_str();
  command
      .add_option("--clip-frames", o.clip_frames,
                  "Frames of the generated clip (0: max(--frames, 300))")
      ->capture_default_str();
  command.add_option("--clip-width", o.clip_width, "Width of the generated clip")
      ->capture_default_str();
  command.add_option("--clip-height", o.clip_height, "Height of the generated clip")
      ->capture_default_str();
  command.add_option("--batch-sizes", o.batch_sizes, "Batch sizes, comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  command.add_option("--model", o.model.model, "yolov8n, yolov8s or a TorchScript file")
      ->capture_default_str();
  command.add_option("--imgsz", o.model.input_size, "Model input size")->capture_default_str();
  command.add_option("--threads", o.model.threads, "LibTorch intra-op threads (0: all cores)")
      ->capture_default_str();
  command
      .add_option("--decode-threads", o.decode_threads,
                  "FFmpeg decoder threads (0: planned as `run` plans them for one stream)")
      ->capture_default_str();
  command
      .add_option("--rounds", o.rounds,
                  "Runs of each batch size in turn, each between two timings of the model alone "
                  "(the summary gives the median share)")
      ->capture_default_str();
  command.add_option("--warmup", o.warmup, "Forwards per batch size before its first run")
      ->capture_default_str();
  command
      .add_option("--isolated-reps", o.isolated_reps,
                  "Timed forwards per batch size for the model-alone throughput")
      ->capture_default_str();
  command.add_flag("--no-serial", f.no_serial, "Skip the serial loop");
  command.add_flag("--no-pipelined", f.no_pipelined, "Skip the pipeline");
  command.add_option("--output-dir", f.output_dir, "Where frames.csv (and the clip) go")
      ->capture_default_str();
}

int run_frames(FramesCommand& f) {
  if (!bench_paths_ok(f.output_dir, "frames",
                      {{"--source", f.options.source}, {"--model", f.options.model.model}})) {
    return 2;
  }
  const std::string system_text = print_system_block();
  f.options.serial = !f.no_serial;
  f.options.pipelined = !f.no_pipelined;
  f.options.clip_dir = f.output_dir;
  auto result = run_frames_bench(f.options);
  if (!result) {
    print_error(result.status().message());
    return 2;
  }
  return report_experiment(system_text, format_frames_bench(result.value()),
                           as_list(write_frames_bench_csv(result.value(), f.output_dir)),
                           frames_bench_plot(result.value()), f.output_dir, "frames");
}

struct PlacementCommand {
  PlacementBenchOptions options;
  std::string output_dir = "bench-out/placement";
  bool no_binding = false;
};

void add_placement_flags(CLI::App& command, PlacementCommand& p) {
  auto& o = p.options;
  command
      .add_option("--threads", o.threads,
                  "LibTorch thread counts, comma-separated (default: 1..usable cores)")
      ->delimiter(',');
  command.add_flag("--no-binding", p.no_binding, "Skip the rows bound to cores");
  command.add_option("--cameras", o.cameras, "Synthetic cameras")->capture_default_str();
  command.add_option("--batch", o.batch, "Batch size")->capture_default_str();
  command.add_option("--frames", o.frames, "Frames per camera and row")->capture_default_str();
  command.add_option("--model", o.model.model, "yolov8n, yolov8s or a TorchScript file")
      ->capture_default_str();
  command.add_option("--imgsz", o.model.input_size, "Model input size")->capture_default_str();
  command.add_option("--width", o.width, "Camera width")->capture_default_str();
  command.add_option("--height", o.height, "Camera height")->capture_default_str();
  command.add_option("--warmup", o.warmup, "Forwards before each thread count's rows")
      ->capture_default_str();
  command.add_option("--output-dir", p.output_dir, "Where placement.csv goes")
      ->capture_default_str();
}

int run_placement(PlacementCommand& p) {
  if (!bench_paths_ok(p.output_dir, "placement", {{"--model", p.options.model.model}})) return 2;
  const std::string system_text = print_system_block();
  p.options.core_binding = !p.no_binding;
  auto result = run_placement_bench(p.options);
  if (!result) {
    print_error(result.status().message());
    return 2;
  }
  return report_experiment(system_text, format_placement_bench(result.value()),
                           as_list(write_placement_bench_csv(result.value(), p.output_dir)),
                           placement_bench_plot(result.value()), p.output_dir, "placement");
}

struct DecodeCommand {
  DecodeBenchOptions options;
  std::string output_dir = "bench-out/decode";
};

void add_decode_flags(CLI::App& command, DecodeCommand& d) {
  auto& o = d.options;
  command.add_option("--source", o.source,
                     "Video file (default: a synthetic 1280x720 H.264 clip written to the output "
                     "directory)");
  command.add_option("--streams", o.streams, "Stream counts, comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  command
      .add_option("--decode-threads", o.decode_threads,
                  "FFmpeg threads per decoder, comma-separated (0: FFmpeg picks)")
      ->delimiter(',')
      ->capture_default_str();
  command.add_option("--frames", o.frames, "Frames per stream and run")->capture_default_str();
  command.add_option("--target-fps", o.target_fps, "Camera frame rate the ceiling is counted in")
      ->capture_default_str();
  command.add_option("--clip-width", o.clip_width, "Width of the generated clip")
      ->capture_default_str();
  command.add_option("--clip-height", o.clip_height, "Height of the generated clip")
      ->capture_default_str();
  command.add_option("--output-dir", d.output_dir, "Where decode.csv (and the clip) go")
      ->capture_default_str();
}

int run_decode(DecodeCommand& d) {
  if (!bench_paths_ok(d.output_dir, "decode", {{"--source", d.options.source}})) return 2;
  const std::string system_text = print_system_block();
  d.options.clip_dir = d.output_dir;
  auto result = run_decode_bench(d.options);
  if (!result) {
    print_error(result.status().message());
    return 2;
  }
  return report_experiment(system_text, format_decode_bench(result.value()),
                           as_list(write_decode_bench_csv(result.value(), d.output_dir)),
                           decode_bench_plot(result.value()), d.output_dir, "decode");
}

struct IdleGapCommand {
  IdleGapBenchOptions options;
  std::string output_dir = "bench-out/idle-gap";
};

void add_idle_gap_flags(CLI::App& command, IdleGapCommand& g) {
  auto& o = g.options;
  command.add_option("--gaps", o.gaps_ms, "Idle gaps between forwards, ms, comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  command.add_option("--iterations", o.iterations, "Timed forwards per variant and gap")
      ->capture_default_str();
  command
      .add_option("--warmup", o.warmup,
                  "Forwards before the first series, and paced forwards dropped at the start of "
                  "each")
      ->capture_default_str();
  command.add_option("--model", o.model, "yolov8n, yolov8s or a TorchScript file")
      ->capture_default_str();
  command.add_option("--imgsz", o.input_size, "Model input size")->capture_default_str();
  command.add_option("--batch", o.batch, "Frames per forward")->capture_default_str();
  command.add_option("--threads", o.threads, "LibTorch intra-op threads (0: all cores)")
      ->capture_default_str();
  command.add_option("--pacing", o.pacing, "How to wait out a gap: sleep, busy or both")
      ->capture_default_str();
  command.add_flag("--keep-warm", o.keep_warm,
                   "Add a variant that runs a tiny matmul on every LibTorch thread every ~1 ms "
                   "of a gap");
  command.add_option("--output-dir", g.output_dir, "Where the CSV files go")->capture_default_str();
}

int run_idle_gap(const IdleGapCommand& g) {
  if (!bench_paths_ok(g.output_dir, "idle_gap", {{"--model", g.options.model}})) return 2;
  const std::string system_text = print_system_block();
  auto result = run_idle_gap_bench(g.options);
  if (!result) {
    print_error(result.status().message());
    return 2;
  }
  return report_experiment(system_text, format_idle_gap_bench(result.value()),
                           write_idle_gap_csv(result.value(), g.output_dir),
                           idle_gap_bench_plot(result.value()), g.output_dir, "idle_gap");
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
  command
      .add_option("--accuracy-scenes", o.accuracy_scenes,
                  "Held-out synthetic scenes for each step's mAP (detectors trained on them, "
                  "such as yolov8n-shapes; 0: none)")
      ->capture_default_str();
  command.add_option("--output-dir", m.output_dir, "Where model_speed.csv goes")
      ->capture_default_str();
  command
      .add_option("--steps", o.steps,
                  fmt::format("Only these steps, comma-separated (default: all): {}",
                              fmt::join(model_speed_step_ids(), ", ")))
      ->delimiter(',');
}

int run_model(const ModelCommand& m) {
  if (!bench_paths_ok(m.output_dir, "model",
                      {{"--model", m.options.model}, {"--weights", m.options.weights}})) {
    return 2;
  }
  const std::string system_text = print_system_block();
  auto result = run_model_speed_bench(m.options);
  if (!result) {
    print_error(result.status().message());
    return 2;
  }
  return report_experiment(system_text, format_model_speed_bench(result.value()),
                           as_list(write_model_speed_bench_csv(result.value(), m.output_dir)),
                           model_speed_bench_plot(result.value()), m.output_dir, "model");
}

}  // namespace

struct ContentionCommand {
  ContentionOptions options;
  std::string output_dir = "bench-out/contention";
};

void add_contention_flags(CLI::App& command, ContentionCommand& c) {
  command.add_option("--busy", c.options.busy, "Busy processes beside the job, each count a row")
      ->delimiter(',')
      ->capture_default_str()
      ->check(CLI::Range(0, 64));
  command.add_option("--rounds", c.options.rounds, "Runs of each row (the median counts)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  command.add_option("--output-dir", c.output_dir, "Where contention.csv and the runs go")
      ->capture_default_str();
  // The first argument it does not know and everything after it: the job's `run` flags.
  command.prefix_command();
  command.footer(
      "Flags after these are the job's `run` flags (default: --precision int8, the default job: "
      "4 synthetic 720p30 cameras for 10 s)");
}

int run_contention(CLI::App& command, ContentionCommand& c) {
  c.options.run_flags = command.remaining();
  if (!bench_paths_ok(c.output_dir, "contention", {})) return 2;
  c.options.work_dir = (std::filesystem::path(c.output_dir) / "runs").string();
  const std::string system_text = print_system_block();
  std::error_code ec;
  const std::string self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  auto result = run_contention_bench(self, c.options);
  if (!result) {
    print_error(result.status().message());
    return 2;
  }
  auto csv = write_contention_bench_csv(result.value(), c.output_dir);
  return report_experiment(system_text, format_contention_bench(result.value()),
                           as_list(std::move(csv)), contention_bench_plot(result.value()),
                           c.output_dir, "contention");
}

struct GpuCommand {
  GpuBenchOptions options;
};

// The body lives beside the cuda backend; a build without it says what it needs in one line.
int run_gpu(const GpuCommand& g) {
  const GpuBench bench = gpu_bench();
  if (!bench) {
    print_error(
        "bench gpu: needs the cuda backend and an NVIDIA GPU; this streaminfer has no cuda "
        "backend (it was built against a LibTorch without CUDA): run scripts/gpu_check.sh on a "
        "GPU machine (README, section GPU)");
    return 2;
  }
  if (!bench_paths_ok(g.options.output_dir, "gpu", {})) return 2;
  print_system_block();
  auto table = bench(g.options);
  if (!table) {
    print_error(table.status().message());
    return 2;
  }
  std::printf("%s", table->c_str());
  return 0;
}

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
  auto frames_state = std::make_shared<FramesCommand>();
  auto* frames = bench->add_subcommand(
      "frames",
      "One video: frame by frame vs batches, serial loop vs the overlapped pipeline, against "
      "the model alone");
  add_frames_flags(*frames, *frames_state);
  auto idle_gap_state = std::make_shared<IdleGapCommand>();
  auto* idle_gap = bench->add_subcommand(
      "idle-gap",
      "Latency against the idle gap between forwards (sleep, busy-wait, keep-warm), with CPU "
      "clock and step changes");
  add_idle_gap_flags(*idle_gap, *idle_gap_state);
  auto placement_state = std::make_shared<PlacementCommand>();
  auto* placement = bench->add_subcommand(
      "placement", "Where the work runs: LibTorch threads 1..N, bound to cores or not, CPU/GPU");
  add_placement_flags(*placement, *placement_state);
  auto decode_state = std::make_shared<DecodeCommand>();
  auto* decode = bench->add_subcommand(
      "decode", "The decode ceiling: N streams of one video decoded at once, no inference");
  add_decode_flags(*decode, *decode_state);
  auto model_state = std::make_shared<ModelCommand>();
  auto* model = bench->add_subcommand(
      "model",
      "Model forward only: eager fp32, + fused BatchNorm, + channels-last, + bf16 (where it runs)");
  add_model_flags(*model, *model_state);
  auto contention_state = std::make_shared<ContentionCommand>();
  auto* contention = bench->add_subcommand(
      "contention",
      "A run job alone and beside busy processes, for each way OpenMP threads wait (spin, "
      "streaminfer's choice, passive)");
  add_contention_flags(*contention, *contention_state);
  auto gpu_state = std::make_shared<GpuCommand>();
  auto* gpu = bench->add_subcommand(
      "gpu",
      "The GPU path (cuda builds): CPU vs fused-kernel preprocessing and NMS, fp32 vs fp16, CUDA "
      "graphs off vs on, batch 1/8/32");
  gpu->add_option("--output-dir", gpu_state->options.output_dir, "Where gpu_bench.csv goes")
      ->capture_default_str();
  gpu->add_option("--reps", gpu_state->options.reps, "Timed repetitions of each row")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  return [=]() -> int {
    if (!bench->parsed()) return -1;
    if (postprocess->parsed()) return run_postprocess(*postprocess_state);
    if (batching->parsed()) return run_batching(*batching_state);
    if (frames->parsed()) return run_frames(*frames_state);
    if (idle_gap->parsed()) return run_idle_gap(*idle_gap_state);
    if (placement->parsed()) return run_placement(*placement_state);
    if (decode->parsed()) return run_decode(*decode_state);
    if (model->parsed()) return run_model(*model_state);
    if (gpu->parsed()) return run_gpu(*gpu_state);
    if (contention->parsed()) return run_contention(*contention, *contention_state);
    // Not CLI11's require_subcommand: its message cannot name the word that was given.
    const auto given = bench->remaining();
    print_error(given.empty() ? fmt::format("bench: name an experiment: {}", kExperiments)
                              : fmt::format("bench: unknown experiment '{}'; experiments: {}",
                                            fmt::join(given, " "), kExperiments));
    return 2;
  };
}

}  // namespace streaminfer::app
