#include "commands.h"

namespace streaminfer::app {

void add_run_flags(CLI::App& cmd, RunOptions& o, std::string& config_path) {
  cmd.add_option("--config", config_path,
                 "YAML file with any of these flags (keys without dashes); flags override it");
  cmd.add_option("--source", o.sources,
                 "Video source, repeatable: file path, rtsp://host:port/path (TCP; add "
                 "?transport=udp for UDP), http(s):// stream, /dev/videoN or camera:N, or "
                 "synthetic:?width=&height=&fps=&objects=&seed=&frames= (default: 4 synthetic "
                 "1280x720 cameras)")
      ->take_all();
  cmd.add_option(
         "--model", o.model,
         "yolov8n-shapes (bundled: yolov8n trained on the synthetic scenes' 4 classes, 320 input), "
         "built-in yolov8n, yolov8s (detectors), resnet18, resnet50, vit_b_16 (classifiers), or a "
         "TorchScript detector file ([B, 4+nc, A] output)")
      ->capture_default_str();
  cmd.add_option(
      "--weights", o.weights,
      "Weights of a built-in architecture, by parameter name: a file streaminfer saved (PyTorch's "
      "torch.load reads it as a state dict) or a TorchScript file of the same model");
  cmd.add_option("--imgsz", o.imgsz,
                 "Model input size (square, multiple of 32; default: 640 for detectors, 224 for "
                 "classifiers)");
  cmd.add_option("--batch-size", o.batch_size, "Largest batch across streams")
      ->capture_default_str();
  cmd.add_option("--max-wait-ms", o.max_wait_ms,
                 "A partial batch leaves when its oldest frame has waited this long")
      ->capture_default_str();
  cmd.add_option("--threads", o.threads, "LibTorch intra-op threads (0: all cores)")
      ->capture_default_str();
  cmd.add_option("--micro-batch", o.micro_batch,
                 "Frames per model forward at most: a batch runs as forwards of this size (0: "
                 "measure 1, 2 and 4 at load and keep the fastest per frame)")
      ->capture_default_str();
  cmd.add_option("--tensor-cache-mb", o.tensor_cache_mb,
                 "CPU tensor memory (blocks of 256 KiB and more) kept for reuse after a forward "
                 "frees it, so the next forward takes no page faults (0: LibTorch's allocator)")
      ->capture_default_str();
  cmd.add_option("--decode-threads", o.decode_threads, "FFmpeg decoder threads per stream")
      ->capture_default_str();
  cmd.add_option("--warmup", o.warmup, "Warm-up inferences before measuring")
      ->capture_default_str();
  cmd.add_option("--max-frames", o.max_frames, "Frames per stream (0: to the end)")
      ->capture_default_str();
  cmd.add_option("--every-nth", o.every_nth,
                 "Infer every K-th frame of each stream (frames 0, K, 2K, ...); the others are "
                 "skipped after decode and counted")
      ->capture_default_str();
  cmd.add_option("--sample-fps", o.sample_fps,
                 "Infer at most N evenly spaced frames per second of each stream, by timestamp "
                 "(0: every frame)")
      ->capture_default_str();
  cmd.add_option("--stall-timeout", o.stall_timeout,
                 "Live sources: seconds without data (or to open) before the stream counts as "
                 "dropped and reconnects")
      ->capture_default_str();
  cmd.add_option("--max-reconnects", o.max_reconnects,
                 "Live sources: failed re-opens in a row (backoff 0.5 s doubling to 8 s) before "
                 "the stream is reported failed (-1: keep trying)")
      ->capture_default_str();
  cmd.add_option("--max-steps", o.max_steps, "Stop after this many batches (0: no limit)")
      ->capture_default_str();
  cmd.add_option("--pace", o.pace,
                 "max: as fast as possible (nothing dropped); realtime: at the stream's frame rate "
                 "like a camera (oldest frames dropped when inference falls behind); auto: "
                 "realtime for live/synthetic sources, max for files")
      ->capture_default_str();
  cmd.add_option("--queue-size", o.queue_size,
                 "Frames queued per stream (0: 8 or two batches for files, which wait for room; 2 "
                 "for realtime "
                 "streams, which drop their oldest frame: the queue sets how stale a live frame "
                 "is when batched)")
      ->capture_default_str();
  cmd.add_option("--conf", o.conf, "Score threshold")->capture_default_str();
  cmd.add_option("--iou", o.iou, "NMS IoU threshold")->capture_default_str();
  cmd.add_option("--max-det", o.max_det, "Detections kept per frame")->capture_default_str();
  cmd.add_option("--device", o.device, "cpu or cuda")->capture_default_str();
  cmd.add_option("--precision", o.precision,
                 "fp32, fp16, bf16 or int8 (built-in YOLOv8 and ResNet; calibrated at load on "
                 "synthetic scenes)")
      ->capture_default_str();
  cmd.add_option("--output", o.output,
                 "Detections as JSON Lines, one line per frame ('-': stdout)");
  cmd.add_option("--sink", o.sinks,
                 "Publish detections (one JSONL line per frame, topic T) and a stats message "
                 "every second (T/stats) to an MQTT broker, repeatable: "
                 "mqtt://host[:port]/T[?qos=0|1&client_id=ID&queue=N]; a broker that is down "
                 "never slows the run (up to N=1000 messages wait, then the oldest are dropped)")
      ->take_all();
  cmd.add_option("--metrics-dir", o.metrics_dir,
                 "Directory for the per-batch CSV M_{model}_P_{pid}_metrics.csv");
  cmd.add_option("--trace", o.trace,
                 "Chrome-trace / Perfetto JSON timeline of every stage (open in ui.perfetto.dev)");
  cmd.add_option("--split-point", o.split_point,
                 "Experimental: run a built-in YOLOv8 in two parts, layers 0..N then the rest, "
                 "with the hand-over (a copy, as to another device) timed apart: model.N, N in "
                 "0..21 (model.9: after the backbone)");
  cmd.add_option("--core-bind", o.core_bind, "Pin the process to these cores, e.g. 0-3 or 0,2");
  cmd.add_option("--shard", o.shard,
                 "i/N: run sources i, i+N, i+2N, ... of the list (one camera list over N "
                 "machines)");
  cmd.add_option("--mode", o.mode,
                 "infer, or retrain: online fine-tuning on the incoming frames (built-in models: "
                 "backbone frozen, one AdamW step per batch; labels from the synthetic source's "
                 "ground truth, generated for other sources: profiling only)")
      ->capture_default_str();
  cmd.add_option("--retrain-lr", o.retrain_lr, "Learning rate of --mode retrain")
      ->capture_default_str();
  cmd.add_option("--retrain-save", o.retrain_save,
                 "--mode retrain: write the fine-tuned weights to this file at the end (load them "
                 "with --weights)");
  cmd.add_flag("!--no-progress", o.progress, "No live progress line");
}

}  // namespace streaminfer::app
