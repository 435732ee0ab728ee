#pragma once
// Everything `streaminfer run` can be told, from flags or from a YAML file (--config), validated
// in one place so both routes give the same one-line errors.
#include <cstdint>
#include <string>
#include <vector>

#include "streaminfer/status.h"

namespace YAML {
class Node;
}

namespace streaminfer {

struct RunOptions {
  std::vector<std::string> sources;      // empty: default_sources()
  std::string model = "yolov8n-shapes";  // kDefaultModel (infer/model_zoo.h)
  std::string weights;
  int imgsz = 0;  // 0: the model's own (640 for detectors, 224 for classifiers)
  int batch_size = 4;
  double max_wait_ms = 10;
  int threads = 0;                    // 0: all cores
  int micro_batch = 0;                // frames per forward at most; 0: measured at load
  std::string fp32_kernels = "auto";  // float32 forwards: LibTorch NCHW/NHWC or a oneDNN plan
  int tensor_cache_mb = 1024;  // idle CPU tensor memory kept for reuse; 0: LibTorch's allocator
  int decode_threads = 0;      // per stream; 0: planned (config/thread_plan.h)
  int warmup = 2;
  int64_t max_frames = 0;
  int every_nth = 1;          // infer every K-th frame of each stream
  double sample_fps = 0;      // infer at most N frames per second of each stream; 0: all
  double stall_timeout = 10;  // live sources: seconds without data before reconnecting
  int max_reconnects = -1;    // live sources: failed re-opens in a row before failing; -1: no end
  int64_t max_steps = 0;
  std::string pace = "auto";
  int queue_size = 0;  // frames per stream; 0: max(8, 2 batches) for files, 2 for realtime
  float conf = 0.25f;
  float iou = 0.45f;
  int max_det = 300;
  std::string device = "cpu";
  std::string precision = "auto";  // int8 where measured faster and as accurate, else fp32
  std::string calibration;         // int8: calibrate on these frames; empty: synthetic scenes
  int calibration_frames = 64;
  std::string calibration_cache;  // int8 ranges kept here; empty: the default place
  std::string hwdec = "none";
  bool cuda_graphs = false;
  std::string split_point;  // experimental: "model.N" splits a built-in YOLOv8 after layer N
  std::string output;
  std::string metrics_dir;
  std::string trace;      // Chrome-trace / Perfetto JSON timeline
  std::string core_bind;  // e.g. "0-3" or "0,2": pin the whole process to these cores
  std::string shard;      // "i/N": take sources i, i+N, ... of the list; empty: all
  bool progress = true;
  // infer, or retrain: a fine-tuning step per batch (built-in architectures only) whose forward
  // also gives the frames their results.
  std::string mode = "infer";
  double retrain_lr = 1e-3;  // AdamW learning rate of retrain mode
  std::string retrain_save;  // retrain mode: the fine-tuned weights are written here at the end

  // mqtt://host[:port]/topic[?qos=&client_id=&queue=]: detections and stats to a broker.
  std::vector<std::string> sinks;

  // The --config file these options were read from; empty when none. A run with neither a config
  // nor sources runs the demo job (default_sources()); one with a config but no source is an
  // error, never the demo.
  std::string config;
};

// The default job: four synthetic 1280x720 cameras at 30 fps, 10 seconds each.
std::vector<std::string> default_sources();

// Sets the fields present in the YAML file (and options.config = path); keys are the flag names
// without dashes ("batch-size" or "batch_size", "no-progress: true" or "progress: false");
// `source` and `sink` are a string or a list. An empty file, an unknown or repeated key, a wrong
// type and an empty `source` list are errors naming the file, the key and its line.
Status load_run_options_yaml(const std::string& path, RunOptions& options);
// The same keys from a mapping already parsed (a worker of a `launch` file); messages start
// with `origin` ("launch 'workers.yaml': worker 'lobby'") and give the mapping's own lines.
// Leaves options.config alone.
Status apply_run_options_yaml(const YAML::Node& mapping, const std::string& origin,
                              RunOptions& options);

// Every option's own check (run_option_table.h), then the checks across options (a micro-batch
// larger than the batch, --retrain-save without --mode retrain, a config without sources); the
// message names the flag and what is accepted.
Status validate(const RunOptions& options);

// The sources to run: options.sources, or the demo job's when neither sources nor a config were
// given.
std::vector<std::string> sources_to_run(const RunOptions& options);

// A warning line (without the "streaminfer: warning: " prefix) when --threads asks for more
// threads than `cores` (the cores this process may run on); empty otherwise.
std::string threads_warning(int threads, int cores);

}  // namespace streaminfer
