#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/version.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "commands.h"
#include "config/shard.h"
#include "infer/backend.h"
#include "infer/caching_cpu_allocator.h"
#include "infer/model_zoo.h"
#include "pipeline/pipeline.h"
#include "profile/cpu_affinity.h"
#include "profile/system_info.h"
#include "streaminfer/clock.h"
#include "train/online_trainer.h"

namespace streaminfer::app {

namespace {

Pipeline* g_running_pipeline = nullptr;

extern "C" void on_stop_signal(int signal_number) {
  // Only an atomic store happens here (async-signal-safe): sources stop, queued frames drain.
  if (g_running_pipeline) g_running_pipeline->request_stop();
  // A second Ctrl-C ends the process at once, for when draining takes too long.
  std::signal(signal_number, SIG_DFL);
}

PaceMode pace_of(const std::string& pace) {
  if (pace == "max") return PaceMode::kMax;
  if (pace == "realtime") return PaceMode::kRealtime;
  return PaceMode::kAuto;
}

BackendOptions backend_options(const RunOptions& o) {
  BackendOptions b;
  b.model = o.model;
  b.weights = o.weights;
  b.split_point = o.split_point;
  b.device = o.device;
  b.precision = o.precision;
  b.threads = o.threads;
  b.micro_batch = o.micro_batch;
  b.tensor_cache_mb = o.tensor_cache_mb;
  b.input_size = o.imgsz;
  // Retrain mode does not run the backend's forwards (the trainer's model does): measuring its
  // micro-batch would only delay the start.
  if (o.mode == "retrain" && b.micro_batch == 0) b.micro_batch = 1;
  return b;
}

PipelineOptions pipeline_options(const RunOptions& o, const std::string& model_name) {
  PipelineOptions p;
  p.sources = o.sources.empty() ? default_sources() : o.sources;
  p.source_options.decode_threads = o.decode_threads;
  p.source_options.stall_timeout_s = o.stall_timeout;
  p.source_options.max_reconnects = o.max_reconnects;
  p.every_nth = o.every_nth;
  p.sample_fps = o.sample_fps;
  p.pace = pace_of(o.pace);
  p.batcher.max_batch = o.batch_size;
  p.batcher.max_wait = std::chrono::microseconds(static_cast<int64_t>(o.max_wait_ms * 1000));
  if (o.queue_size > 0) {
    p.batcher.queue_capacity = p.batcher.live_queue_capacity = static_cast<size_t>(o.queue_size);
  } else {
    p.batcher.queue_capacity = default_file_queue_capacity(o.batch_size);
    p.batcher.live_queue_capacity = kDefaultLiveQueueCapacity;
  }
  p.max_frames = o.max_frames;
  p.max_steps = o.max_steps;
  p.postprocess.score_threshold = o.conf;
  p.postprocess.iou_threshold = o.iou;
  p.postprocess.max_detections = o.max_det;
  p.output_jsonl = o.output;
  p.metrics_dir = o.metrics_dir;
  p.trace_path = o.trace;
  p.model_name = model_name;
  p.sinks = o.sinks;
  p.progress = o.progress;
  return p;
}

}  // namespace

void print_error(const std::string& message) {
  std::fprintf(stderr, "streaminfer: error: %s\n", message.c_str());
}

int run_command(RunOptions options) {
  if (Status valid = validate(options); !valid) {
    print_error(valid.message());
    return 2;
  }
  std::string shard_line;
  if (!options.shard.empty()) {
    const Shard shard = parse_shard(options.shard).value();  // validate() checked the form
    const auto all = options.sources.empty() ? default_sources() : options.sources;
    auto mine = sources_of_shard(all, shard);
    if (!mine) {
      print_error(mine.status().message());
      return 2;
    }
    options.sources = std::move(mine.value());
    shard_line = fmt::format("shard {}/{}: {} of {} source(s)\n", shard.index, shard.count,
                             options.sources.size(), all.size());
  }
  // Bind before LibTorch starts its worker threads: they inherit the process's mask.
  std::string binding = "not bound";
  if (!options.core_bind.empty()) {
    auto cores = parse_core_list(options.core_bind);
    if (!cores) {
      print_error("--core-bind " + options.core_bind + ": " + cores.status().message());
      return 2;
    }
    if (Status bound = bind_process_to_cores(cores.value()); !bound) {
      print_error("--core-bind " + options.core_bind + ": " + bound.message());
      return 2;
    }
    binding = "cores " + format_core_list(current_thread_cores());
  }
  const bool retrain = options.mode == "retrain";
  if (retrain && !find_builtin(options.model)) {
    print_error(fmt::format(
        "--mode retrain: --model {} is not a built-in architecture (a TorchScript file cannot be "
        "fine-tuned); give yolov8n, yolov8s, resnet18, resnet50 or vit_b_16",
        options.model));
    return 2;
  }
  auto backend = create_backend(backend_options(options));
  if (!backend) {
    print_error(backend.status().message());
    return 2;
  }
  const ModelInfo& model = backend.value()->info();
  // Retrain mode: a second, trainable copy of the model (see online_trainer.h for why).
  std::unique_ptr<OnlineTrainer> trainer;
  if (retrain) {
    auto made = create_online_trainer(
        {options.model, options.weights, model.num_classes, options.retrain_lr});
    if (!made) {
      print_error(made.status().message());
      return 2;
    }
    trainer = std::move(made.value());
  }
  // The backend probed the precision in a child process; when it could not run, fp32 runs and
  // this is the one line that says so.
  if (!model.precision_fallback.empty()) {
    std::fprintf(stderr, "streaminfer: warning: %s\n", model.precision_fallback.c_str());
  }

  SystemInfo system = collect_system_info();
  system.extra["libtorch"] = TORCH_VERSION;
  system.extra["libtorch threads"] = std::to_string(at::get_num_threads());
  // Whether idle OpenMP threads spin: what decides how processes sharing cores slow each other.
  const char* wait_policy = std::getenv("OMP_WAIT_POLICY");
  system.extra["openmp wait policy"] = wait_policy != nullptr && *wait_policy != 0
                                           ? wait_policy
                                           : "unset (OpenMP threads spin before sleeping)";
  system.extra["core binding"] = binding;
  system.extra["streaminfer"] = STREAMINFER_VERSION;
  PipelineOptions pipeline_opts = pipeline_options(options, model.name);
  pipeline_opts.system = to_json(system);
  pipeline_opts.trainer = trainer.get();
  Pipeline pipeline(std::move(pipeline_opts), *backend.value());
  if (Status opened = pipeline.open_outputs(); !opened) {
    print_error(opened.message());
    return 2;
  }
  const Status sources_opened = pipeline.open_sources();

  std::printf("%s", format_system_info(system).c_str());
  std::printf("streaminfer %s | LibTorch %s on %s, %d threads, %s | batch %d, max wait %.1f ms\n",
              STREAMINFER_VERSION, TORCH_VERSION, options.device.c_str(), at::get_num_threads(),
              binding.c_str(), options.batch_size, options.max_wait_ms);
  std::printf("model: %s, input %dx%d\n", model.description.c_str(), model.input_width,
              model.input_height);
  std::printf("forwards of at most %d frame(s) (%s)\n", model.micro_batch,
              model.micro_batch_why.c_str());
  std::printf("%s", shard_line.c_str());
  const auto& infos = pipeline.source_infos();
  for (size_t i = 0; i < infos.size(); ++i) {
    std::printf("stream %zu: %s [%s]\n", i, infos[i].uri.c_str(), infos[i].description.c_str());
  }
  if (trainer) {
    std::printf("retrain: %s\n", trainer->description().c_str());
    for (int id : pipeline.generated_label_streams()) {
      std::printf("%s\n", generated_labels_line(id).c_str());
    }
  }
  if (!sources_opened) {
    // Each source that failed has already said why, in one line of its own.
    return 1;
  }

  // Retrain mode: no warm-up, every step trains (a warm-up step would change the weights).
  if (trainer) options.warmup = 0;
  const int64_t warm_start = now_ns();
  if (Status warmed = backend.value()->warm_up(options.batch_size, options.warmup); !warmed) {
    print_error(warmed.message());
    return 1;
  }
  backend.value()->reset_report();
  if (options.warmup > 0) {
    std::printf("warm-up: %d inferences at batch %d in %.0f ms\n", options.warmup,
                options.batch_size, ns_to_ms(now_ns() - warm_start));
  }
  std::fflush(stdout);

  g_running_pipeline = &pipeline;
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  auto stats = pipeline.run();
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  g_running_pipeline = nullptr;
  if (!stats) {
    print_error(stats.status().message());
    return 1;
  }
  std::printf("%s", format_summary(stats.value()).c_str());
  std::printf("%s", backend.value()->end_of_run_report().c_str());
  std::printf("%s", format_tensor_cache(installed_tensor_cache_stats()).c_str());
  if (trainer && !options.retrain_save.empty()) {
    if (Status saved = trainer->save(options.retrain_save); !saved) {
      print_error("--retrain-save: " + saved.message());
      return 1;
    }
    std::printf("wrote %s (the fine-tuned weights: --weights %s loads them)\n",
                options.retrain_save.c_str(), options.retrain_save.c_str());
  }
  for (const auto& file : pipeline.written_files()) std::printf("wrote %s\n", file.c_str());
  std::fflush(stdout);
  return stats.value().total_frames_done() > 0 ? 0 : 1;
}

}  // namespace streaminfer::app
