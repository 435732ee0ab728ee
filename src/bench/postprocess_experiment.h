#pragma once
// `streaminfer bench postprocess`: YOLOv8 decode + class-aware NMS of one realistic
// [B, 4+nc, A] output, three ways, side by side in one run: the naive per-anchor LibTorch loop
// people write first, the plain C++ per-anchor reference, and the engine's vectorized version.
// Every version must keep exactly the boxes the vectorized one keeps; the run says so.
#include <string>
#include <vector>

#include "postprocess/yolo_decode.h"
#include "report/bench_plot.h"
#include "streaminfer/status.h"

namespace streaminfer {

struct PostprocessBenchOptions {
  int batch = 1;
  int classes = 80;
  int anchors = 8400;
  unsigned seed = 42;
  int reps = 200;      // timed calls of the fast versions
  int naive_reps = 3;  // timed calls of the naive loop (about 0.1-1 s each)
  int threads = 1;     // LibTorch intra-op threads: "on one core" by default
  std::string model;   // when set, also time this model's forward (for the share of it)
  int input_size = 640;
  int forward_reps = 3;
  PostprocessOptions postprocess;
};

struct PostprocessBenchVersion {
  std::string id;                    // naive, reference, opencv, vectorized: the CSV's version
  std::string name;                  // the table's description
  std::vector<double> ms_per_frame;  // one entry per timed call
  size_t kept = 0;                   // detections kept, all frames
  bool same_boxes = false;           // identical to the vectorized version's, in order
  double p50_ms() const;
  double mean_ms() const;
};

struct PostprocessBenchResult {
  PostprocessBenchOptions options;
  // naive, reference, opencv (when built with OpenCV), vectorized: the engine's is last.
  std::vector<PostprocessBenchVersion> versions;
  std::vector<std::string> not_run;  // versions this build could not run, with the reason
  std::string model_description;     // empty when no model was timed
  std::vector<double> forward_ms_per_frame;
};

Result<PostprocessBenchResult> run_postprocess_bench(const PostprocessBenchOptions& options);

// The table printed at the end: p50 / mean per frame, speed-up over naive, same boxes, and the
// vectorized version's share of the model's forward when one was timed.
std::string format_postprocess_bench(const PostprocessBenchResult& result);

// DIR/postprocess_runs.csv (version,rep,batch,ms_per_frame) and DIR/postprocess_summary.csv
// (version,p50_ms,mean_ms,min_ms,speedup_vs_naive,kept,same_boxes). Returns the paths written.
// Time per frame of each version (log scale), and every timed call of the fast ones.
BenchPlot postprocess_bench_plot(const PostprocessBenchResult& result);

Result<std::vector<std::string>> write_postprocess_bench_csv(const PostprocessBenchResult& result,
                                                             const std::string& dir);

}  // namespace streaminfer
