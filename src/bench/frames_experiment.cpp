#include "bench/frames_experiment.h"

#include <fmt/format.h>
#include <torch/types.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "config/thread_plan.h"
#include "pipeline/pipeline.h"
#include "postprocess/yolo_decode.h"
#include "preprocess/letterbox.h"
#include "profile/cpu_affinity.h"
#include "source/clip_writer.h"
#include "source/source.h"
#include "streaminfer/clock.h"

extern "C" {
#include <libavutil/frame.h>
}

namespace streaminfer {
namespace {

constexpr const char* kFramesExperiment = "frames";

Status check(const FramesBenchOptions& o) {
  SI_RETURN_IF_ERROR(check_bench_model(kFramesExperiment, o.model));
  if (o.frames < 1) {
    return Status::error(
        fmt::format("bench frames: --frames must be at least 1 (got {})", o.frames));
  }
  if (o.batch_sizes.empty()) return Status::error("bench frames: --batch-sizes is empty");
  for (int b : o.batch_sizes) {
    if (b < 1 || b > 256) {
      return Status::error(
          fmt::format("bench frames: --batch-sizes values must be 1..256 (got {})", b));
    }
  }
  if (o.rounds < 1 || o.rounds > 100) {
    return Status::error(fmt::format("bench frames: --rounds must be 1..100 (got {})", o.rounds));
  }
  if (!o.serial && !o.pipelined) {
    return Status::error("bench frames: nothing to run (both --no-serial and --no-pipelined)");
  }
  return Status::ok();
}

// The loop people write first: decode a batch, preprocess it, infer, postprocess, repeat, on
// one thread. Nothing overlaps.
Result<FramesBenchRow> run_serial(const FramesBenchOptions& o, const std::string& uri,
                                  InferenceBackend& backend, int batch) {
  SourceOptions source_options;
  source_options.decode_threads = o.decode_threads;
  auto source = open_source(uri, source_options);
  if (!source) return source.status();
  const auto& info = backend.info();
  const int w = info.input_width, h = info.input_height;
  const int64_t plane = static_cast<int64_t>(3) * w * h;
  torch::Tensor input = torch::empty({batch, 3, h, w});
  LetterboxPreprocessor preprocessor;
  PostprocessOptions postprocess;
  std::vector<double> latency_ms;
  int64_t done = 0;
  double inference_ms = 0;
  const int64_t start = now_ns();
  while (done < o.frames) {
    std::vector<FramePtr> frames;
    while (static_cast<int>(frames.size()) < batch &&
           done + static_cast<int64_t>(frames.size()) < o.frames) {
      const int64_t decode_start = now_ns();
      FramePtr frame;
      SI_RETURN_IF_ERROR(source.value()->next(frame));
      if (!frame) break;
      frame->t.decode_start = decode_start;
      frames.push_back(std::move(frame));
    }
    if (frames.empty()) break;
    const int n = static_cast<int>(frames.size());
    for (int i = 0; i < n; ++i) {
      SI_RETURN_IF_ERROR(preprocessor.run(
          *frames[i]->image, w, h, input.data_ptr<float>() + i * plane, &frames[i]->letterbox));
    }
    const int64_t inference_start = now_ns();
    auto output = backend.infer(input.narrow(0, 0, n));
    if (!output) return output.status();
    inference_ms += ns_to_ms(now_ns() - inference_start);
    const auto& out = output.value();
    auto detections = decode_yolov8(out.data_ptr<float>(), n, static_cast<int>(out.size(1)),
                                    static_cast<int>(out.size(2)), postprocess);
    for (int i = 0; i < n; ++i) {
      for (auto& d : detections[i]) d.box = frames[i]->letterbox.to_source(d.box);
    }
    const int64_t end = now_ns();
    for (const auto& frame : frames) latency_ms.push_back(ns_to_ms(end - frame->t.decode_start));
    done += n;
  }
  FramesBenchRow row;
  row.batch = batch;
  row.mode = "serial";
  row.frames = done;
  row.wall_s = ns_to_ms(now_ns() - start) / 1000.0;
  row.p50_ms = sample_percentile(latency_ms, 50);
  row.p99_ms = sample_percentile(latency_ms, 99);
  row.inference_busy = row.wall_s > 0 ? inference_ms / (1000.0 * row.wall_s) : 0.0;
  return row;
}

// The engine: decode, preprocessing, inference and postprocessing on their own threads.
Result<FramesBenchRow> run_pipelined(const FramesBenchOptions& o, const std::string& uri,
                                     InferenceBackend& backend, int batch) {
  PipelineOptions p;
  p.sources = {uri};
  p.source_options.decode_threads = o.decode_threads;
  p.pace = PaceMode::kMax;
  p.max_frames = o.frames;
  p.batcher.max_batch = batch;
  p.batcher.queue_capacity = default_file_queue_capacity(batch);
  p.progress = false;
  p.model_name = backend.info().name;
  Pipeline pipeline(std::move(p), backend);
  SI_RETURN_IF_ERROR(pipeline.open_outputs());
  SI_RETURN_IF_ERROR(pipeline.open_sources());
  auto stats = pipeline.run();
  if (!stats) return stats.status();
  const RunStats& s = stats.value();
  if (!s.streams.empty() && s.streams[0].status != "ok") {
    return Status::error(fmt::format("bench frames: '{}': {}", uri, s.streams[0].status));
  }
  FramesBenchRow row;
  row.batch = batch;
  row.mode = "pipelined";
  row.frames = s.total_frames_done();
  row.wall_s = s.wall_seconds;
  row.p50_ms = s.stage(Stage::kEndToEnd).percentile(50);
  row.p99_ms = s.stage(Stage::kEndToEnd).percentile(99);
  row.inference_busy = busy_share(s, Stage::kInference);
  return row;
}

}  // namespace

Result<FramesBenchResult> run_frames_bench(const FramesBenchOptions& requested) {
  SI_RETURN_IF_ERROR(check(requested));
  FramesBenchOptions options = requested;
  // As `run` plans them for one stream, unless given.
  options.decode_threads = plan_threads(static_cast<int>(current_thread_cores().size()), 1,
                                        options.model.threads, options.decode_threads)
                               .decode_per_stream;
  FramesBenchResult result;
  result.options = options;
  if (options.source.empty()) {
    ClipOptions clip;
    clip.width = options.clip_width;
    clip.height = options.clip_height;
    clip.frames =
        options.clip_frames > 0 ? options.clip_frames : std::max<int64_t>(options.frames, 300);
    auto clip_path = bench_clip(kFramesExperiment, options.clip_dir, clip);
    if (!clip_path) return clip_path.status();
    result.source = clip_path.value();
  } else {
    result.source = options.source;
  }
  {
    SourceOptions source_options;
    source_options.decode_threads = options.decode_threads;
    auto probe = open_source(result.source, source_options);
    if (!probe) return probe.status();
    result.source_description = probe.value()->info().description;
  }
  auto backend = create_bench_backend(options.model);
  if (!backend) return backend.status();
  result.model_description = describe_bench_backend(*backend.value());

  std::vector<int> batches = options.batch_sizes;
  std::sort(batches.begin(), batches.end());
  batches.erase(std::unique(batches.begin(), batches.end()), batches.end());
  for (int batch : batches) {
    // The model alone is timed right before and right after each run, and the run is compared
    // with the mean of the two: on a shared machine the speed drifts within a minute, and a
    // ceiling timed once per batch size mixed that drift into the ratio.
    const auto model_alone_fps = [&](int warmup) -> Result<double> {
      auto ms = time_isolated_forward(*backend.value(), batch, warmup, options.isolated_reps);
      if (!ms) return ms.status();
      return ms.value() > 0 ? batch * 1000.0 / ms.value() : 0.0;
    };
    auto before = model_alone_fps(options.warmup);
    if (!before) return before.status();
    for (int round = 0; round < options.rounds; ++round) {
      for (int pass = 0; pass < 2; ++pass) {
        const bool pipelined = pass == 1;
        if ((pipelined && !options.pipelined) || (!pipelined && !options.serial)) continue;
        auto row = pipelined ? run_pipelined(options, result.source, *backend.value(), batch)
                             : run_serial(options, result.source, *backend.value(), batch);
        if (!row) return row.status();
        auto after = model_alone_fps(0);
        if (!after) return after.status();
        const double isolated_fps = (before.value() + after.value()) / 2;
        before = after;
        FramesBenchRow r = row.value();
        r.fps = r.wall_s > 0 ? static_cast<double>(r.frames) / r.wall_s : 0.0;
        r.isolated_fps = isolated_fps;
        r.share_of_isolated = isolated_fps > 0 ? r.fps / isolated_fps : 0.0;
        r.round = round;
        result.rows.push_back(r);
      }
    }
  }
  return result;
}

namespace {
std::vector<double> percentages(const std::vector<double>& shares) {
  std::vector<double> out;
  for (double share : shares) out.push_back(100.0 * share);
  return out;
}
}  // namespace

std::string format_frames_bench(const FramesBenchResult& result) {
  std::string out = fmt::format(
      "bench frames: {}, {} ({}), first {} frames per run, {} decoder thread(s), {} round(s)\n",
      result.model_description, result.source, result.source_description, result.options.frames,
      result.options.decode_threads, result.options.rounds);
  out += fmt::format("{:>5} {:<10} {:>7} {:>8} {:>9} {:>9} {:>9} {:>13} {:>12} {:>11}\n", "batch",
                     "mode", "frames", "wall s", "fps", "p50 ms", "p99 ms", "model alone",
                     "of model fps", "infer busy");
  for (const auto& r : result.rows) {
    out += fmt::format(
        "{:>5} {:<10} {:>7} {:>8.2f} {:>9.2f} {:>9.1f} {:>9.1f} {:>13.2f} {:>11.0f}% {:>10.0f}%\n",
        r.batch, r.mode, r.frames, r.wall_s, r.fps, r.p50_ms, r.p99_ms, r.isolated_fps,
        100.0 * r.share_of_isolated, 100.0 * r.inference_busy);
  }
  // The median FPS of a batch size's rounds in one mode; 0 when it did not run.
  const auto median_fps_of = [&](int batch, const char* mode) {
    std::vector<double> fps;
    for (const auto& r : result.rows) {
      if (r.batch == batch && r.mode == mode) fps.push_back(r.fps);
    }
    return sample_percentile(fps, 50);
  };
  const double frame_by_frame_fps = median_fps_of(1, "serial");
  for (const auto& r : result.rows) {
    if (r.mode != "pipelined" || r.round != 0) continue;
    // Every round of this batch size: the median share of the model alone, and each round's.
    std::vector<double> shares, busy;
    for (const auto& other : result.rows) {
      if (other.mode == "pipelined" && other.batch == r.batch) {
        shares.push_back(other.share_of_isolated);
        busy.push_back(other.inference_busy);
      }
    }
    const double median_fps = median_fps_of(r.batch, "pipelined");
    const double serial_fps = median_fps_of(r.batch, "serial");
    out += fmt::format(
        "batch {:>2}: pipelined {:.2f} FPS = {:.0f}% of the model alone (timed before and "
        "after{}), "
        "inference busy {:.0f}% of the run",
        r.batch, median_fps, 100.0 * sample_percentile(shares, 50),
        shares.size() > 1 ? fmt::format("; median of {} rounds: {:.0f}%", shares.size(),
                                        fmt::join(percentages(shares), "%, "))
                          : "",
        100.0 * sample_percentile(busy, 50));
    if (serial_fps > 0) out += fmt::format(", {:.2f}x the serial loop", median_fps / serial_fps);
    if (frame_by_frame_fps > 0) {
      out += fmt::format(", {:.2f}x frame by frame", median_fps / frame_by_frame_fps);
    }
    out += "\n";
  }
  return out;
}

BenchPlot frames_bench_plot(const FramesBenchResult& result) {
  std::vector<int> batches;
  for (const auto& r : result.rows) {
    if (std::find(batches.begin(), batches.end(), r.batch) == batches.end()) {
      batches.push_back(r.batch);
    }
  }
  std::sort(batches.begin(), batches.end());
  const auto at = [&](int batch) {
    return static_cast<size_t>(std::find(batches.begin(), batches.end(), batch) - batches.begin());
  };
  const auto chart = [&](const std::string& title, const std::string& hint,
                         const std::string& y_label) {
    BenchChart c;
    c.title = title;
    c.hint = hint;
    c.x_label = "batch size";
    c.y_label = y_label;
    c.log_x = true;
    for (int b : batches) c.x.push_back(b);
    return c;
  };
  BenchChart fps = chart("Throughput", "The model alone is the ceiling a pipeline can reach.",
                         "frames per second");
  BenchChart latency = chart("Latency per frame, p50", "Decode start to detections.", "ms");
  BenchSeries serial_fps{"serial loop", std::vector<double>(batches.size(), kNoPoint)};
  BenchSeries pipelined_fps{"pipelined", std::vector<double>(batches.size(), kNoPoint)};
  BenchSeries model_fps{"model alone", std::vector<double>(batches.size(), kNoPoint)};
  BenchSeries serial_p50 = serial_fps, pipelined_p50 = pipelined_fps;
  for (const auto& r : result.rows) {
    const size_t i = at(r.batch);
    model_fps.values[i] = r.isolated_fps;
    (r.mode == "serial" ? serial_fps : pipelined_fps).values[i] = r.fps;
    (r.mode == "serial" ? serial_p50 : pipelined_p50).values[i] = r.p50_ms;
  }
  fps.series = {serial_fps, pipelined_fps, model_fps};
  latency.series = {serial_p50, pipelined_p50};
  BenchPlot plot;
  plot.title = "bench frames";
  plot.charts = {fps, latency};
  return plot;
}

Result<std::string> write_frames_bench_csv(const FramesBenchResult& result,
                                           const std::string& dir) {
  std::ofstream csv;
  auto path = create_bench_file(kFramesExperiment, dir, "frames.csv", csv);
  if (!path) return path.status();
  csv << "batch,mode,frames,wall_s,fps,p50_ms,p99_ms,isolated_fps,share_of_isolated,"
         "inference_busy,round\n";
  for (const auto& r : result.rows) {
    csv << fmt::format("{},{},{},{:.4f},{:.4f},{:.3f},{:.3f},{:.4f},{:.4f},{:.4f},{}\n", r.batch,
                       r.mode, r.frames, r.wall_s, r.fps, r.p50_ms, r.p99_ms, r.isolated_fps,
                       r.share_of_isolated, r.inference_busy, r.round);
  }
  SI_RETURN_IF_ERROR(close_bench_file(kFramesExperiment, path.value(), csv));
  return path;
}

}  // namespace streaminfer
