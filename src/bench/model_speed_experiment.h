#pragma once
// `streaminfer bench model`: the model's forward alone (no decode, no pipeline), LibTorch on the
// CPU, one optimization added per step so that each step's gain shows on its own: eager float32
// as the engine ran it before, + BatchNorm folded into the convolutions, + channels-last, +
// bfloat16 (only where the precision probe ran it in a child process; otherwise the row says why),
// and int8 (post-training quantization of the fused model, yolov8_int8.h). Every step runs the
// same input with the same (seeded) weights, and its largest difference to the eager output is
// reported; for a detector trained on the synthetic scenes (the bundled yolov8n-shapes) each
// step's mAP on held-out scenes too: the accuracy cost of the step.
#include <string>
#include <vector>

#include "report/bench_plot.h"
#include "streaminfer/status.h"

namespace streaminfer {

struct ModelSpeedOptions {
  std::string model = "yolov8n";  // built-in name or TorchScript file
  std::string weights;            // optional, for a built-in architecture
  int input_size = 640;
  int batch = 4;
  int threads = 0;  // LibTorch intra-op threads; 0 = all cores
  int reps = 20;    // timed forwards per step
  int warmup = 3;   // untimed forwards per step first
  // Held-out synthetic scenes for each step's mAP (detectors trained on them only); 0: none.
  int accuracy_scenes = 48;
  // Only these steps (their CSV ids, e.g. {"fused_bn", "onednn_nhwc"}); empty: all. Without
  // eager, the differences are against the first step that runs.
  std::vector<std::string> steps;
};

// The step ids in table order: eager, fused_bn, channels_last, onednn_nhwc, onednn_blocked,
// onednn_blocked_direct, bf16, int8.
std::vector<std::string> model_speed_step_ids();

struct ModelSpeedStep {
  std::string id;          // the CSV's step column: eager, fused_bn, channels_last, bf16, int8
  std::string name;        // the table's label
  bool available = false;  // false: not timed; `note` says why
  std::string note;        // why unavailable, or empty
  std::string onednn;      // "oneDNN ISA: ...; convolutions: ..." from the precision probe
  std::vector<double> ms_per_batch;
  double max_score_diff = 0;         // largest |class score - eager's|
  double max_box_diff_px = 0;        // largest |box coordinate - eager's| in input pixels
  std::string precision;             // what ran: fp32, bf16, int8 (a fallback runs fp32)
  double map50 = -1, map50_95 = -1;  // on held-out synthetic scenes; -1: not measured
  double p50_ms() const;
  double mean_ms() const;
  double min_ms() const;
};

struct ModelSpeedResult {
  ModelSpeedOptions options;
  int threads = 0;  // the thread count that ran
  std::string model_description;
  bool random_weights = false;
  std::vector<ModelSpeedStep> steps;  // eager, fused_bn, channels_last, bf16, int8
};

Result<ModelSpeedResult> run_model_speed_bench(const ModelSpeedOptions& options);

// The table: p50 / mean ms per batch, images/s, speed-up over the previous timed step and over
// eager, accuracy cost; unavailable steps as one row with the reason; the oneDNN ISA lines.
std::string format_model_speed_bench(const ModelSpeedResult& result);

// DIR/model_speed.csv: step,available,batch,imgsz,threads,reps,p50_ms,mean_ms,min_ms,
// images_per_s,gain_vs_previous,gain_vs_eager,max_score_diff,max_box_diff_px,map50,map50_95,
// onednn,note
// (onednn and note with commas replaced by ';'). Returns the path written.
// Images per second of each step that ran, and its speed-up over eager.
BenchPlot model_speed_bench_plot(const ModelSpeedResult& result);

Result<std::string> write_model_speed_bench_csv(const ModelSpeedResult& result,
                                                const std::string& dir);

}  // namespace streaminfer
