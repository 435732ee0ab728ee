#include "config/run_option_table.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "config/shard.h"
#include "sink/mqtt_uri.h"

namespace streaminfer {

namespace {

Status no_empty_source(const RunOptions& o) {
  for (const auto& source : o.sources) {
    if (source.empty()) return Status::error("--source: an empty source was given");
  }
  return Status::ok();
}

Status valid_sinks(const RunOptions& o) {
  // Malformed sinks fail here, before the model loads; brokers are only contacted by the run.
  for (const auto& sink : o.sinks) {
    auto parsed = parse_mqtt_uri(sink);
    if (!parsed) return parsed.status();
  }
  return Status::ok();
}

Status valid_imgsz(const RunOptions& o) {
  if (o.imgsz == 0 || (o.imgsz >= 32 && o.imgsz <= 4096 && o.imgsz % 32 == 0)) return Status::ok();
  return Status::error(fmt::format(
      "--imgsz {}: must be a multiple of 32 from 32 to 4096 (or 0: the model's own)", o.imgsz));
}

Status valid_shard(const RunOptions& o) {
  return o.shard.empty() ? Status::ok() : parse_shard(o.shard).status();
}

std::vector<RunOptionSpec> make_table() {
  std::vector<RunOptionSpec> t;
  auto add = [&t](std::string name, RunOptionField field, std::string help) -> RunOptionSpec& {
    RunOptionSpec& spec = t.emplace_back();
    spec.name = std::move(name);
    spec.field = field;
    spec.help = std::move(help);
    return spec;
  };
  auto range = [](RunOptionSpec& spec, double min, double max) {
    spec.min = min;
    spec.max = max;
  };

  auto& source = add("source", &RunOptions::sources,
                     "Video source, repeatable: file path, rtsp://host:port/path (TCP; add "
                     "?transport=udp for UDP), http(s):// stream, /dev/videoN or camera:N, or "
                     "synthetic:?width=&height=&fps=&objects=&seed=&frames= (with neither "
                     "sources nor --config: 4 synthetic 1280x720 cameras, the demo job)");
  source.repeatable = true;
  source.show_default = false;
  source.check = no_empty_source;
  add("model", &RunOptions::model,
      "yolov8n-shapes (bundled: yolov8n trained on the synthetic scenes' 4 classes, 320 input), "
      "built-in yolov8n, yolov8s (detectors), resnet18, resnet50, vit_b_16 (classifiers), or a "
      "TorchScript detector file ([B, 4+nc, A] output)");
  add("weights", &RunOptions::weights,
      "Weights of a built-in architecture, by parameter name: a file streaminfer saved (PyTorch's "
      "torch.load reads it as a state dict) or a TorchScript file of the same model")
      .show_default = false;
  auto& imgsz = add("imgsz", &RunOptions::imgsz,
                    "Model input size (square, multiple of 32; 0: the model's own, 640 for "
                    "detectors, 224 for classifiers)");
  imgsz.check = valid_imgsz;
  range(add("batch-size", &RunOptions::batch_size, "Largest batch across streams"), 1, 256);
  range(add("max-wait-ms", &RunOptions::max_wait_ms,
            "A partial batch leaves when its oldest frame has waited this long"),
        0, 60000);
  range(add("threads", &RunOptions::threads,
            "LibTorch intra-op threads (0: all cores; more than the cores available is warned "
            "about)"),
        0, 1024);
  range(add("micro-batch", &RunOptions::micro_batch,
            "Frames per model forward at most, up to --batch-size: a batch runs as forwards of "
            "this size (0: measure 1, 2 and 4 at load and keep the fastest per frame)"),
        0, 256);
  add("fp32-kernels", &RunOptions::fp32_kernels,
      "Float32 forwards: auto (time LibTorch's in NCHW and channels-last and, for a built-in "
      "YOLOv8 or ResNet, the oneDNN plans' at load with the micro-batch sizes, keep the fastest "
      "per frame), libtorch, libtorch-nhwc (channels-last; any model, TorchScript files too), "
      "onednn-nhwc or onednn-blocked (a built-in YOLOv8 or ResNet, or a TorchScript file with a "
      "built-in YOLOv8's parameters, on oneDNN: activations channels-last or in its blocked "
      "layout, activations and residual adds fused into the convolutions)")
      .choices = {"auto", "libtorch", "libtorch-nhwc", "onednn-nhwc", "onednn-blocked"};
  range(add("tensor-cache-mb", &RunOptions::tensor_cache_mb,
            "CPU tensor memory (blocks of 256 KiB and more) kept for reuse after a forward "
            "frees it, so the next forward takes no page faults (0: LibTorch's allocator)"),
        0, 1 << 20);
  range(add("decode-threads", &RunOptions::decode_threads,
            "FFmpeg decoder threads per stream (0: planned with the inference threads: at most "
            "half the cores in all, 1 to 4 a stream)"),
        0, 64);
  range(add("warmup", &RunOptions::warmup, "Warm-up inferences before measuring"), 0, 1000);
  range(add("max-frames", &RunOptions::max_frames, "Frames per stream (0: to the end)"), 0, 1e15);
  range(add("every-nth", &RunOptions::every_nth,
            "Infer every K-th frame of each stream (frames 0, K, 2K, ...); the others are skipped "
            "after decode and counted"),
        1, 1000000);
  range(add("sample-fps", &RunOptions::sample_fps,
            "Infer at most N evenly spaced frames per second of each stream, by timestamp (0: "
            "every frame)"),
        0, 10000);
  range(add("stall-timeout", &RunOptions::stall_timeout,
            "Live sources: seconds without data (or to open) before the stream counts as dropped "
            "and reconnects"),
        0.1, 3600);
  range(add("max-reconnects", &RunOptions::max_reconnects,
            "Live sources: failed re-opens in a row (backoff 0.5 s doubling to 8 s) before the "
            "stream is reported failed (-1: keep trying)"),
        -1, 1000000);
  range(add("max-steps", &RunOptions::max_steps, "Stop after this many batches (0: no limit)"), 0,
        1e15);
  add("pace", &RunOptions::pace,
      "max: as fast as possible (nothing dropped); realtime: at the stream's frame rate like a "
      "camera (oldest frames dropped when inference falls behind); auto: realtime for "
      "live/synthetic sources, max for files")
      .choices = {"auto", "max", "realtime"};
  range(add("queue-size", &RunOptions::queue_size,
            "Frames queued per stream (0: 8 or two batches for files, which wait for room; 2 for "
            "realtime streams, which drop their oldest frame: the queue sets how stale a live "
            "frame is when batched)"),
        0, 4096);
  range(add("conf", &RunOptions::conf, "Score threshold"), 0, 1);
  range(add("iou", &RunOptions::iou, "NMS IoU threshold"), 0, 1);
  range(add("max-det", &RunOptions::max_det, "Detections kept per frame"), 1, 100000);
  add("device", &RunOptions::device, "cpu or cuda").choices = {"cpu", "cuda"};
  add("precision", &RunOptions::precision,
      "auto: the fastest at load of fp32, int8 (built-in YOLOv8 and ResNet, where int8 agrees "
      "with fp32 on held-out frames) and bf16 (built-in models, where the CPU has bfloat16 "
      "instructions of its own and bf16 is as accurate); or fp32, fp16, bf16, int8")
      .choices = {"auto", "fp32", "fp16", "bf16", "int8"};
  add("calibration", &RunOptions::calibration,
      "int8: measure the activation ranges on these frames instead of synthetic scenes: a video "
      "file (one frame in 4), a folder of images, or a live source (consecutive frames)")
      .show_default = false;
  range(add("calibration-frames", &RunOptions::calibration_frames,
            "Frames of --calibration to calibrate on (a quarter as many more are held out to "
            "compare int8 with fp32)"),
        1, 1024);
  add("calibration-cache", &RunOptions::calibration_cache,
      "int8: keep the activation ranges in this file and read them from it on the next start "
      "(one made for another model, size or weights is refused); default: beside --weights, or "
      "in ~/.cache/streaminfer/calibration/")
      .show_default = false;
  add("hwdec", &RunOptions::hwdec,
      "Decode files and network streams with NVDEC: cuda (through FFmpeg; where there is no GPU "
      "or no CUDA decoder for the codec, the CPU decodes and the stream says why in one line), "
      "or none")
      .choices = {"none", "cuda"};
  add("cuda-graphs", &RunOptions::cuda_graphs,
      "--device cuda: capture the forward once per batch size into a CUDA graph and replay it");
  add("output", &RunOptions::output, "Detections as JSON Lines, one line per frame ('-': stdout)")
      .show_default = false;
  auto& sink = add("sink", &RunOptions::sinks,
                   "Publish detections (one JSONL line per frame, topic T) and a stats message "
                   "every second (T/stats) to an MQTT broker, repeatable: "
                   "mqtt://host[:port]/T[?qos=0|1&client_id=ID&queue=N]; a broker that is down "
                   "never slows the run (up to N=1000 messages wait, then the oldest are dropped)");
  sink.repeatable = true;
  sink.show_default = false;
  sink.check = valid_sinks;
  add("metrics-dir", &RunOptions::metrics_dir,
      "Directory for the per-batch CSV M_{model}_P_{pid}_metrics.csv and the other profiler files")
      .show_default = false;
  add("trace", &RunOptions::trace,
      "Chrome-trace / Perfetto JSON timeline of every stage (open in ui.perfetto.dev)")
      .show_default = false;
  add("split-point", &RunOptions::split_point,
      "Experimental: run a built-in YOLOv8 in two parts, layers 0..N then the rest, with the "
      "hand-over (a copy, as to another device) timed apart: model.N, N in 0..21 (model.9: after "
      "the backbone)")
      .show_default = false;
  add("core-bind", &RunOptions::core_bind, "Pin the process to these cores, e.g. 0-3 or 0,2")
      .show_default = false;
  auto& shard = add("shard", &RunOptions::shard,
                    "i/N: run sources i, i+N, i+2N, ... of the list (one camera list over N "
                    "machines)");
  shard.show_default = false;
  shard.check = valid_shard;
  add("mode", &RunOptions::mode,
      "infer, or retrain: online fine-tuning on the incoming frames (built-in models: backbone "
      "frozen, one AdamW step per batch; labels from the synthetic source's ground truth, "
      "generated for other sources: profiling only)")
      .choices = {"infer", "retrain"};
  range(add("retrain-lr", &RunOptions::retrain_lr, "Learning rate of --mode retrain"), 1e-9, 10);
  add("retrain-save", &RunOptions::retrain_save,
      "--mode retrain: write the fine-tuned weights to this file at the end (load them with "
      "--weights)")
      .show_default = false;
  add("progress", &RunOptions::progress, "No live progress line").negatable = true;
  // What picks and builds the model, and nothing else: a service's reload builds a new model
  // from them and the running pipeline goes on with it (Pipeline::use_backend). Not the device,
  // the batch size or the threads: the pipeline's queues and threads are planned for those.
  for (const char* name :
       {"model", "weights", "imgsz", "precision", "calibration", "calibration-frames",
        "calibration-cache", "cuda-graphs", "micro-batch", "fp32-kernels", "split-point"}) {
    const auto spec =
        std::find_if(t.begin(), t.end(), [&](const auto& s) { return s.name == name; });
    if (spec == t.end()) throw std::logic_error(std::string("no run option ") + name);
    spec->picks_model = true;
  }
  return t;
}

template <typename T>
double as_number(T value) {
  return static_cast<double>(value);
}

}  // namespace

const std::vector<RunOptionSpec>& run_option_table() {
  static const std::vector<RunOptionSpec> table = make_table();
  return table;
}

const RunOptionSpec* find_run_option(std::string_view key, bool* negated) {
  std::string name(key);
  std::replace(name.begin(), name.end(), '_', '-');
  bool is_negated = false;
  if (name.rfind("no-", 0) == 0) {
    is_negated = true;
    name.erase(0, 3);
  }
  for (const auto& spec : run_option_table()) {
    if (spec.name != name) continue;
    if (is_negated && !spec.negatable) return nullptr;
    if (negated) *negated = is_negated;
    return &spec;
  }
  return nullptr;
}

std::string run_option_value(const RunOptionSpec& spec, const RunOptions& options) {
  return std::visit(
      [&options](auto member) -> std::string {
        const auto& value = options.*member;
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          return fmt::format("{}", fmt::join(value, ","));
        } else if constexpr (std::is_same_v<T, bool>) {
          return value ? "true" : "false";
        } else {
          return fmt::format("{}", value);
        }
      },
      spec.field);
}

void copy_run_option(const RunOptionSpec& spec, const RunOptions& from, RunOptions& to) {
  std::visit([&](auto member) { to.*member = from.*member; }, spec.field);
}

Status check_run_option(const RunOptionSpec& spec, const RunOptions& options) {
  const auto numeric = std::visit(
      [&options](auto member) -> std::optional<double> {
        using T = std::decay_t<decltype(options.*member)>;
        if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
          return as_number(options.*member);
        } else {
          return std::nullopt;
        }
      },
      spec.field);
  if (numeric && (spec.min || spec.max)) {
    const double value = *numeric;
    // NaN fails both comparisons, so it is refused too.
    if (!(value >= spec.min.value_or(-INFINITY) && value <= spec.max.value_or(INFINITY))) {
      return Status::error(fmt::format("--{} {}: must be between {} and {}", spec.name,
                                       run_option_value(spec, options),
                                       spec.min.value_or(-INFINITY), spec.max.value_or(INFINITY)));
    }
  }
  if (!spec.choices.empty()) {
    const std::string value = run_option_value(spec, options);
    if (std::find(spec.choices.begin(), spec.choices.end(), value) == spec.choices.end()) {
      return Status::error(fmt::format("--{} {}: must be one of {}", spec.name, value,
                                       fmt::join(spec.choices, ", ")));
    }
  }
  if (spec.check) return spec.check(options);
  return Status::ok();
}

}  // namespace streaminfer
