#include "engine_setup.h"

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/version.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "commands.h"
#include "common/console.h"
#include "common/openmp_waiting.h"
#include "common/path_guard.h"
#include "common/stop_request.h"
#include "config/run_option_table.h"
#include "config/run_paths.h"
#include "config/shard.h"
#include "config/thread_plan.h"
#include "infer/backend.h"
#include "infer/caching_cpu_allocator.h"
#include "infer/model_zoo.h"
#include "infer/precision_probe.h"
#include "pipeline/pipeline.h"
#include "pipeline/run_outputs.h"
#include "profile/cpu_affinity.h"
#include "profile/system_info.h"
#include "streaminfer/clock.h"
#include "train/online_trainer.h"

namespace streaminfer::app {

namespace {

PaceMode pace_of(const std::string& pace) {
  if (pace == "max") return PaceMode::kMax;
  if (pace == "realtime") return PaceMode::kRealtime;
  return PaceMode::kAuto;
}

BackendOptions backend_options(const RunOptions& o, const ThreadPlan& plan) {
  BackendOptions b;
  b.model = o.model;
  b.weights = o.weights;
  b.split_point = o.split_point;
  b.device = o.device;
  b.precision = o.precision;
  b.calibration_source = o.calibration;
  b.calibration_frames = o.calibration_frames;
  b.calibration_cache = o.calibration_cache;
  b.cuda_graphs = o.cuda_graphs;
  b.threads = plan.inference;
  b.micro_batch = o.micro_batch;
  b.fp32_kernels = o.fp32_kernels;
  b.tensor_cache_mb = o.tensor_cache_mb;
  b.input_size = o.imgsz;
  // Retrain mode does not run the backend's forwards (the trainer's model does): measuring its
  // micro-batch would only delay the start.
  if (o.mode == "retrain" && b.micro_batch == 0) b.micro_batch = 1;
  // Nor building and timing the oneDNN plans.
  if (o.mode == "retrain") b.fp32_kernels = "libtorch";
  return b;
}

OutputOptions output_options(const RunOptions& o, const std::string& model_name) {
  return {o.output, o.metrics_dir, o.trace, model_name, o.sinks, {}, {}, {}};
}

PipelineOptions pipeline_options(const RunOptions& o, const std::string& model_name,
                                 const ThreadPlan& plan) {
  PipelineOptions p;
  p.sources.assign(o.sources.begin(), o.sources.end());
  p.source_options.decode_threads = plan.decode_per_stream;
  p.source_options.hwdec = o.hwdec;
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
  const OutputOptions outputs = output_options(o, model_name);
  p.output_jsonl = outputs.output_jsonl;
  p.metrics_dir = outputs.metrics_dir;
  p.trace_path = outputs.trace_path;
  p.model_name = model_name;
  p.sinks = outputs.sinks;
  p.progress = o.progress;
  return p;
}

// Every file the run reads and writes, checked against each other and for writability before
// the model loads (common/path_guard.h).
Status check_run_paths(const RunOptions& o) {
  PathPlan plan;
  add_run_paths(plan, o);
  if (const BuiltinSpec* spec = find_builtin(o.model); spec != nullptr) {
    if (auto bundled = weights_to_load(*spec, o.weights); bundled && !bundled->empty()) {
      plan.input("the bundled weights of --model " + o.model, *bundled);
    }
  }
  if (o.precision != "fp32") {
    const std::string cache = default_probe_cache_dir();
    if (!cache.empty()) {
      plan.input("the precision probe's cache",
                 (std::filesystem::path(cache) / "precision_probe.json").string());
    }
  }
  // The profiler's files carry the model's file stem, as RunOutputs names them (--output and
  // --trace are in already).
  RunOutputs planned(output_options(o, o.model));
  for (const auto& [flag, path] : planned.planned_files()) {
    if (flag == "--metrics-dir") plan.output(flag, path);
  }
  return plan.check();
}

}  // namespace

Engine::~Engine() = default;

int Engine::exit_code(const RunStats& stats) const {
  // Twice asked to stop: the second cut the drain short, or came while the process ended; either
  // way the caller asked for an end now (130 for Ctrl-C twice).
  if (stop_->hurry()) {
    return interrupted_exit_code(stop_->second_cause_code() > 0 ? stop_->second_cause_code()
                                                                : stop_->first_cause_code());
  }
  // Stopped on request, everything read got its result: a clean end, whatever was read.
  if (stats.stopped) return 0;
  return stats.total_frames_done() > 0 ? 0 : 1;
}

std::variant<std::unique_ptr<Engine>, int> Engine::load(RunOptions options, StopRequest& stop,
                                                        bool service) {
  std::unique_ptr<Engine> engine(new Engine());
  Engine& e = *engine;
  e.stop_ = &stop;
  e.service_ = service;
  {
    // A service may start with no stream (cameras come through its API): the check that a
    // config lists sources is run's.
    RunOptions checked = options;
    if (service) checked.config.clear();
    if (Status valid = validate(checked); !valid) {
      print_error(valid.message());
      return 2;
    }
  }
  if (!service) options.sources = sources_to_run(options);
  if (!options.shard.empty()) {
    const Shard shard = parse_shard(options.shard).value();  // validate() checked the form
    const auto all = options.sources;
    auto mine = sources_of_shard(all, shard);
    if (!mine) {
      print_error(mine.status().message());
      return 2;
    }
    options.sources = std::move(mine.value());
    e.shard_line_ = fmt::format("shard {}/{}: {} of {} source(s)\n", shard.index, shard.count,
                                options.sources.size(), all.size());
  }
  // Bind before LibTorch starts its worker threads: they inherit the process's mask.
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
    e.binding_ = "cores " + format_core_list(current_thread_cores());
  }
  const int cores = static_cast<int>(current_thread_cores().size());
  if (const std::string warning = threads_warning(options.threads, cores); !warning.empty()) {
    std::fprintf(stderr, "streaminfer: warning: %s\n", warning.c_str());
  }
  // A service plans for at least one stream: cameras join it later.
  e.threads_ = plan_threads(cores, std::max<int>(1, static_cast<int>(options.sources.size())),
                            options.threads, options.decode_threads);
  const bool retrain = options.mode == "retrain";
  if (retrain && service) {
    print_error("--mode retrain: serve runs inference only; use run --mode retrain");
    return 2;
  }
  if (retrain && !find_builtin(options.model)) {
    print_error(fmt::format(
        "--mode retrain: --model {} is not a built-in architecture (a TorchScript file cannot be "
        "fine-tuned); give yolov8n, yolov8s, resnet18, resnet50 or vit_b_16",
        options.model));
    return 2;
  }
  if (Status paths = check_run_paths(options); !paths) {
    print_error(paths.message());
    return 2;
  }
  auto backend = create_backend(backend_options(options, e.threads_));
  if (!backend) {
    print_error(backend.status().message());
    return 2;
  }
  e.backend_ = std::move(backend.value());
  const ModelInfo& model = e.backend_->info();
  // Retrain mode: a second, trainable copy of the model (see online_trainer.h for why).
  if (retrain) {
    auto made = create_online_trainer(
        {options.model, options.weights, model.num_classes, options.retrain_lr});
    if (!made) {
      print_error(made.status().message());
      return 2;
    }
    e.trainer_ = std::move(made.value());
  }
  // The backend probed the precision in a child process; when it could not run, fp32 runs and
  // this is the one line that says so.
  if (!model.precision_fallback.empty()) {
    std::fprintf(stderr, "streaminfer: warning: %s\n", model.precision_fallback.c_str());
  }
  // Loading took seconds: a stop that came meanwhile is answered now (the run then ends at once,
  // its outputs written).
  if (const std::string said = stop.take_announcement(); !said.empty()) {
    std::fprintf(stderr, "%s\n", said.c_str());
  }
  // Every forward size the run will use, before the first frame: a model whose output does not
  // follow its batch fails here, not in the middle of the run.
  if (!e.trainer_ && !stop.requested()) {
    if (Status sizes = e.backend_->check_batch_sizes(options.batch_size); !sizes) {
      print_error("--model: " + sizes.message());
      return 2;
    }
  }
  e.system_ = collect_system_info();
  e.system_.extra["libtorch"] = TORCH_VERSION;
  e.system_.extra["libtorch threads"] = std::to_string(at::get_num_threads());
  // How idle OpenMP threads wait: what decides how processes sharing cores slow each other.
  e.system_.extra["openmp waiting"] = openmp_waiting_description();
  e.system_.extra["core binding"] = e.binding_;
  e.system_.extra["streaminfer"] = STREAMINFER_VERSION;
  e.options_ = std::move(options);
  return engine;
}

std::optional<int> Engine::open(std::vector<StreamSpec> streams,
                                std::vector<std::shared_ptr<OutputPeer>> peers,
                                const std::string& worker_id) {
  const RunOptions& options = options_;
  FILE* out = info_out();
  const ModelInfo& model = backend_->info();
  PipelineOptions pipeline_opts = pipeline_options(options, model.name, threads_);
  pipeline_opts.sources = std::move(streams);
  pipeline_opts.peers = std::move(peers);
  pipeline_opts.worker_id = worker_id;
  pipeline_opts.service = service_;
  pipeline_opts.thread_plan = threads_.describe();
  pipeline_opts.system = to_json(system_);
  pipeline_opts.trainer = trainer_.get();
  pipeline_opts.stop = stop_;
  pipeline_ = std::make_unique<Pipeline>(std::move(pipeline_opts), backend_);
  if (Status opened = pipeline_->open_outputs(); !opened) {
    print_error(opened.message());
    return 2;
  }
  sources_opened_ = static_cast<bool>(pipeline_->open_sources());

  std::fprintf(out, "%s", format_system_info(system_).c_str());
  std::fprintf(out,
               "streaminfer %s | LibTorch %s on %s, %d threads, %s | batch %d, max wait %.1f ms\n",
               STREAMINFER_VERSION, TORCH_VERSION, options.device.c_str(), at::get_num_threads(),
               binding_.c_str(), options.batch_size, options.max_wait_ms);
  std::fprintf(out, "%s\n", threads_.describe().c_str());
  std::fprintf(out, "model: %s, input %dx%d\n", model.description.c_str(), model.input_width,
               model.input_height);
  std::fprintf(out, "precision: %s (%s)\n", precision_name(model).c_str(),
               model.precision_why.c_str());
  if (!model.calibration.empty())
    std::fprintf(out, "int8 calibration: %s\n", model.calibration.c_str());
  std::fprintf(out, "forwards of at most %d frame(s) (%s)\n", model.micro_batch,
               model.micro_batch_why.c_str());
  if (precision_name(model) == "fp32" && !model.fp32_kernels_why.empty()) {
    std::fprintf(out, "fp32 kernels: %s (%s)\n", model.fp32_kernels.c_str(),
                 model.fp32_kernels_why.c_str());
  }
  std::fprintf(out, "%s", shard_line_.c_str());
  const auto& infos = pipeline_->source_infos();
  for (size_t i = 0; i < infos.size(); ++i) {
    std::fprintf(out, "stream %zu: %s [%s]\n", i, infos[i].uri.c_str(),
                 infos[i].description.c_str());
  }
  if (trainer_) {
    std::fprintf(out, "retrain: %s\n", trainer_->description().c_str());
    for (int id : pipeline_->generated_label_streams()) {
      std::fprintf(out, "%s\n", generated_labels_line(id).c_str());
    }
  }
  // Each source that failed has already said why, in one line of its own. The run still goes
  // through its end with no stream, so that every output it opened is closed validly.
  if (sources_opened_ && !stop_->requested()) {
    // Retrain mode: no warm-up, every step trains (a warm-up step would change the weights).
    const int warmup = trainer_ ? 0 : options.warmup;
    const int64_t warm_start = now_ns();
    if (Status warmed = backend_->warm_up(options.batch_size, warmup); !warmed) {
      print_error(warmed.message());
      return 1;
    }
    backend_->reset_report();
    if (warmup > 0) {
      std::fprintf(out, "warm-up: %d inferences at batch %d in %.0f ms\n", warmup,
                   options.batch_size, ns_to_ms(now_ns() - warm_start));
    }
  }
  std::fflush(out);
  return std::nullopt;
}

Result<std::string> Engine::change_model(const RunOptions& next) {
  if (trainer_) return Status::error("retrain mode trains the model it started with");
  RunOptions wanted = options_;
  for (const auto& option : run_option_table()) {
    if (option.picks_model) copy_run_option(option, next, wanted);
  }
  {
    RunOptions checked = wanted;
    checked.config.clear();  // a service may have no stream: run's check that a config has some
    if (Status valid = validate(checked); !valid) return valid;
  }
  // The new model's files against the run's (a calibration cache must not overwrite --output).
  if (Status paths = check_run_paths(wanted); !paths) return paths;
  const int64_t start = now_ns();
  auto made = create_backend(backend_options(wanted, threads_));
  if (!made) return made.status();
  std::shared_ptr<InferenceBackend> backend = std::move(made.value());
  const ModelInfo& model = backend->info();
  if (!model.precision_fallback.empty()) {
    std::fprintf(stderr, "streaminfer: warning: %s\n", model.precision_fallback.c_str());
  }
  if (Status sizes = backend->check_batch_sizes(options_.batch_size); !sizes) {
    return Status::error("--model: " + sizes.message());
  }
  if (Status warmed = backend->warm_up(options_.batch_size, options_.warmup); !warmed) {
    return warmed;
  }
  backend->reset_report();
  const std::string line = fmt::format(
      "model: {}, input {}x{}, precision {} ({}); built and warmed in {:.1f} s beside the "
      "running {} {}",
      model.description, model.input_width, model.input_height, precision_name(model),
      model.precision_why, ns_to_ms(now_ns() - start) / 1000.0, backend_->info().name,
      precision_name(backend_->info()));
  // Building took seconds: a stop meanwhile keeps the model the run ends with.
  if (stop_->requested())
    return Status::error("the service is stopping; the model was not changed");
  pipeline_->use_backend(backend);
  backend_ = std::move(backend);
  options_ = std::move(wanted);
  return line;
}

double Engine::measure_capacity_fps() {
  constexpr int kForwards = 3;
  const int64_t start = now_ns();
  if (Status timed = backend_->warm_up(options_.batch_size, kForwards); !timed) return 0;
  backend_->reset_report();
  const double seconds = static_cast<double>(now_ns() - start) / 1e9;
  return seconds > 0 ? kForwards * options_.batch_size / seconds : 0;
}

int Engine::finish(Result<RunStats>& stats) {
  FILE* out = info_out();
  if (!stats) {
    print_error(stats.status().message());
    return 1;
  }
  std::fprintf(out, "%s", format_summary(stats.value()).c_str());
  std::fprintf(out, "%s", backend_->end_of_run_report().c_str());
  std::fprintf(out, "%s", format_tensor_cache(installed_tensor_cache_stats()).c_str());
  if (trainer_ && !options_.retrain_save.empty()) {
    if (Status saved = trainer_->save(options_.retrain_save); !saved) {
      print_error("--retrain-save: " + saved.message());
      return 1;
    }
    std::fprintf(out, "wrote %s (the fine-tuned weights: --weights %s loads them)\n",
                 options_.retrain_save.c_str(), options_.retrain_save.c_str());
  }
  for (const auto& file : pipeline_->written_files()) {
    std::fprintf(out, "wrote %s\n", file.c_str());
  }
  std::fflush(out);
  // Every source that failed said why in its own line.
  return sources_opened_ ? 0 : 1;
}

}  // namespace streaminfer::app
