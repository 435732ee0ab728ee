#include "bench/bench_common.h"

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/types.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "infer/caching_cpu_allocator.h"
#include "pipeline/pipeline.h"
#include "streaminfer/clock.h"
#include "train/synthetic_batches.h"

namespace streaminfer {

Status check_bench_model(const std::string& experiment, const BenchModel& model) {
  if (model.threads < 0) {
    return Status::error(fmt::format("bench {}: --threads must be 0 (all cores) or more (got {})",
                                     experiment, model.threads));
  }
  if (model.input_size < 32 || model.input_size % 32 != 0) {
    return Status::error(fmt::format("bench {}: --imgsz must be a multiple of 32 (got {})",
                                     experiment, model.input_size));
  }
  return Status::ok();
}

Result<std::unique_ptr<InferenceBackend>> create_bench_backend(const BenchModel& model) {
  BackendOptions options;
  options.model = model.model;
  options.threads = model.threads;
  options.input_size = model.input_size;
  options.tensor_cache_mb = model.tensor_cache_mb;
  options.fp32_kernels = "auto";  // what `run` uses by default
  return create_backend(options);
}

std::string describe_bench_backend(const InferenceBackend& backend) {
  const ModelInfo& info = backend.info();
  return fmt::format(
      "{} at {}x{}, {} LibTorch thread(s), forwards of at most {} frame(s), fp32 kernels {}, "
      "tensor cache {} MB",
      info.name, info.input_width, info.input_height, at::get_num_threads(), info.micro_batch,
      info.fp32_kernels, installed_tensor_cache_limit() >> 20);
}

double sample_percentile(std::vector<double> samples, double p) {
  if (samples.empty()) return 0.0;
  std::sort(samples.begin(), samples.end());
  const double rank = std::ceil(p / 100.0 * static_cast<double>(samples.size()));
  const size_t index = static_cast<size_t>(std::clamp(rank, 1.0, double(samples.size()))) - 1;
  return samples[index];
}

double sample_mean(const std::vector<double>& samples) {
  if (samples.empty()) return 0.0;
  return std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(samples.size());
}

Result<double> time_isolated_forward(InferenceBackend& backend, int batch, int warmup, int reps) {
  const auto& info = backend.info();
  std::vector<SceneSpec> scenes;
  for (int i = 0; i < batch; ++i) scenes.push_back({1280, 720, 6, static_cast<uint32_t>(i + 1), 0});
  // Every backend takes square inputs (input_width == input_height).
  auto frames = render_scenes(scenes, info.input_width);
  if (!frames) return frames.status();
  const torch::Tensor input = frames->images;
  for (int i = 0; i < std::max(1, warmup); ++i) {
    auto out = backend.infer(input);
    if (!out) return out.status();
  }
  const int64_t start = now_ns();
  const int timed = std::max(1, reps);
  for (int i = 0; i < timed; ++i) {
    auto out = backend.infer(input);
    if (!out) return out.status();
  }
  return ns_to_ms(now_ns() - start) / timed;
}

Result<RunStats> run_synthetic_cameras(InferenceBackend& backend, const SyntheticRun& run) {
  PipelineOptions p;
  for (int s = 0; s < run.cameras; ++s) {
    p.sources.push_back(fmt::format("synthetic:?width={}&height={}&fps=30&objects=6&seed={}",
                                    run.width, run.height, s + 1));
  }
  p.pace = PaceMode::kMax;
  p.max_frames = run.frames;
  p.batcher.max_batch = run.batch;
  p.batcher.queue_capacity = run.queue_capacity;
  p.progress = false;
  p.model_name = backend.info().name;
  Pipeline pipeline(std::move(p), backend);
  SI_RETURN_IF_ERROR(pipeline.open_outputs());
  SI_RETURN_IF_ERROR(pipeline.open_sources());
  return pipeline.run();
}

Result<std::string> bench_clip(const std::string& experiment, const std::string& dir,
                               const ClipOptions& clip) {
  const std::string path =
      (std::filesystem::path(dir) /
       fmt::format("synthetic_{}x{}_{}fps_{}.mp4", clip.width, clip.height, clip.fps, clip.frames))
          .string();
  if (std::filesystem::exists(path)) return path;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::fprintf(stderr, "bench %s: writing %s (%lld frames, %s)\n", experiment.c_str(), path.c_str(),
               static_cast<long long>(clip.frames), default_clip_encoder().c_str());
  // Written under another name first: an interrupted run must not leave a clip that looks done.
  const std::string partial = path + ".partial.mp4";
  SI_RETURN_IF_ERROR(write_synthetic_clip(partial, clip));
  std::filesystem::rename(partial, path, ec);
  if (ec) {
    return Status::error(
        fmt::format("bench {}: cannot rename '{}': {}", experiment, partial, ec.message()));
  }
  return path;
}

Result<std::string> create_bench_file(const std::string& experiment, const std::string& dir,
                                      const std::string& name, std::ofstream& out) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return Status::error(
        fmt::format("bench {}: cannot create '{}': {}", experiment, dir, ec.message()));
  }
  const std::string path = (fs::path(dir) / name).string();
  out.open(path);
  if (!out) return Status::error(fmt::format("bench {}: cannot write '{}'", experiment, path));
  return path;
}

Status close_bench_file(const std::string& experiment, const std::string& path,
                        std::ofstream& out) {
  out.close();
  if (!out) return Status::error(fmt::format("bench {}: writing '{}' failed", experiment, path));
  return Status::ok();
}

}  // namespace streaminfer
