#pragma once
// What every `streaminfer bench` experiment shares: the backend it times, the one-line
// description of it, percentiles of kept samples, and the CSV files it writes.
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "infer/backend.h"
#include "profile/run_stats.h"
#include "source/clip_writer.h"
#include "streaminfer/status.h"

namespace streaminfer {

struct BenchModel {
  std::string model = "yolov8n";  // built-in name or TorchScript file
  int input_size = 640;
  int threads = 0;             // LibTorch intra-op threads; 0 = all cores
  int tensor_cache_mb = 1024;  // see BackendOptions::tensor_cache_mb
};

// `experiment` names the failing experiment in errors ("bench frames: --threads ...").
Status check_bench_model(const std::string& experiment, const BenchModel& model);
Result<std::unique_ptr<InferenceBackend>> create_bench_backend(const BenchModel& model);
// "yolov8n at 640x640, 2 LibTorch thread(s)"
std::string describe_bench_backend(const InferenceBackend& backend);

// Nearest-rank percentile (p in 0..100) of the samples; 0 when there are none.
double sample_percentile(std::vector<double> samples, double p);
double sample_mean(const std::vector<double>& samples);

// Mean milliseconds of `reps` forwards of `batch` frames, after `warmup` untimed ones (at least
// one): the inference stage alone, for comparing a pipeline against it, so in the pipeline's
// conditions: frames as the synthetic cameras draw them, letterboxed (a zero batch ran a few
// percent faster here), on the calling thread, where Pipeline::run runs inference too. The
// mean, not the median: a pipeline's throughput pays for its slow forwards as well.
Result<double> time_isolated_forward(InferenceBackend& backend, int batch, int warmup, int reps);

// `cameras` synthetic width x height cameras through the whole pipeline, delivered as fast as it
// takes them (pace max), `frames` each, batches of up to `batch`, `queue_capacity` frames queued
// per camera (1: latency is the pipeline's, not a backlog's).
struct SyntheticRun {
  int cameras = 1;
  int batch = 1;
  int64_t frames = 16;
  int width = 1280, height = 720;
  size_t queue_capacity = 1;
};
Result<RunStats> run_synthetic_cameras(InferenceBackend& backend, const SyntheticRun& run);

// DIR/synthetic_<w>x<h>_<fps>fps_<frames>.mp4, encoded on first use and reused after: the
// "one long video" of the experiments, the same bytes on every run.
Result<std::string> bench_clip(const std::string& experiment, const std::string& dir,
                               const ClipOptions& clip);

// Creates DIR and opens DIR/NAME for writing, failing with a message naming the path.
Result<std::string> create_bench_file(const std::string& experiment, const std::string& dir,
                                      const std::string& name, std::ofstream& out);
// Closes `out` and fails when anything written to `path` was lost.
Status close_bench_file(const std::string& experiment, const std::string& path, std::ofstream& out);

}  // namespace streaminfer
