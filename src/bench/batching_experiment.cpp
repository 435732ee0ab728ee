#include "bench/batching_experiment.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "bench/bench_common.h"

namespace streaminfer {
namespace {

Status check(const BatchingBenchOptions& o) {
  const auto positive_list = [](const char* flag, const std::vector<int>& values) {
    if (values.empty()) return Status::error(fmt::format("bench batching: {} is empty", flag));
    for (int v : values) {
      if (v < 1 || v > 64) {
        return Status::error(
            fmt::format("bench batching: {} values must be 1..64 (got {})", flag, v));
      }
    }
    return Status::ok();
  };
  SI_RETURN_IF_ERROR(positive_list("--streams", o.streams));
  SI_RETURN_IF_ERROR(positive_list("--batch-sizes", o.batch_sizes));
  if (o.frames < 1) {
    return Status::error(
        fmt::format("bench batching: --frames must be at least 1 (got {})", o.frames));
  }
  BenchModel model;
  model.model = o.model;
  model.input_size = o.input_size;
  model.threads = o.threads;
  return check_bench_model("batching", model);
}

}  // namespace

Result<BatchingBenchResult> run_batching_bench(const BatchingBenchOptions& options) {
  SI_RETURN_IF_ERROR(check(options));
  BenchModel model;
  model.model = options.model;
  model.input_size = options.input_size;
  model.threads = options.threads;
  model.tensor_cache_mb = options.tensor_cache_mb;
  auto backend = create_bench_backend(model);
  if (!backend) return backend.status();

  BatchingBenchResult result;
  result.options = options;
  result.model_description = describe_bench_backend(*backend.value());
  std::set<int> warmed;
  double one_camera_fps = 0;
  std::vector<int> stream_counts = options.streams;
  std::sort(stream_counts.begin(), stream_counts.end());
  stream_counts.erase(std::unique(stream_counts.begin(), stream_counts.end()), stream_counts.end());
  for (int streams : stream_counts) {
    std::set<int> batches = {1, streams};
    for (int b : options.batch_sizes) {
      if (b <= streams) batches.insert(b);
    }
    for (int batch : batches) {
      if (warmed.insert(batch).second) {
        SI_RETURN_IF_ERROR(backend.value()->warm_up(batch, options.warmup));
      }
      SyntheticRun run;
      run.cameras = streams;
      run.batch = batch;
      run.frames = options.frames;
      run.width = options.width;
      run.height = options.height;
      auto stats = run_synthetic_cameras(*backend.value(), run);
      if (!stats) return stats.status();
      const RunStats& s = stats.value();
      BatchingBenchRow row;
      row.streams = streams;
      row.batch = batch;
      row.mode = batch == 1 ? "sequential" : batch == streams ? "batched" : "fixed";
      row.frames = s.total_frames_done();
      row.wall_s = s.wall_seconds;
      row.aggregate_fps =
          s.wall_seconds > 0 ? static_cast<double>(row.frames) / s.wall_seconds : 0.0;
      row.per_camera_fps = row.aggregate_fps / streams;
      row.p50_ms = s.stage(Stage::kEndToEnd).percentile(50);
      row.p99_ms = s.stage(Stage::kEndToEnd).percentile(99);
      if (streams == 1 && batch == 1) one_camera_fps = row.per_camera_fps;
      result.rows.push_back(row);
    }
  }
  for (auto& row : result.rows) {
    row.drop_vs_one_camera = one_camera_fps > 0 ? 1.0 - row.per_camera_fps / one_camera_fps : 0.0;
  }
  return result;
}

std::string format_batching_bench(const BatchingBenchResult& result) {
  const auto& o = result.options;
  std::string out =
      fmt::format("bench batching: {}, synthetic {}x{} cameras, {} frames each per run, pace max\n",
                  result.model_description, o.width, o.height, o.frames);
  const bool has_one_camera =
      std::any_of(result.rows.begin(), result.rows.end(),
                  [](const BatchingBenchRow& r) { return r.streams == 1 && r.batch == 1; });
  out += fmt::format("{:>7} {:>5} {:<10} {:>7} {:>9} {:>13} {:>13} {:>13} {:>9} {:>9}\n", "cameras",
                     "batch", "mode", "frames", "wall s", "aggregate fps", "fps / camera",
                     "drop vs one", "p50 ms", "p99 ms");
  for (const auto& r : result.rows) {
    out += fmt::format(
        "{:>7} {:>5} {:<10} {:>7} {:>9.2f} {:>13.2f} {:>13.2f} {:>13} {:>9.1f} "
        "{:>9.1f}\n",
        r.streams, r.batch, r.mode, r.frames, r.wall_s, r.aggregate_fps, r.per_camera_fps,
        has_one_camera ? fmt::format("{:.0f}%", 100.0 * r.drop_vs_one_camera) : std::string("-"),
        r.p50_ms, r.p99_ms);
  }
  for (const auto& batched : result.rows) {
    if (batched.mode != "batched") continue;
    const auto sequential =
        std::find_if(result.rows.begin(), result.rows.end(), [&](const BatchingBenchRow& r) {
          return r.streams == batched.streams && r.mode == "sequential";
        });
    if (sequential == result.rows.end() || sequential->per_camera_fps <= 0) continue;
    out += fmt::format(
        "{} cameras: sequential {:.2f} FPS each, batched {:.2f} FPS each ({:.2f}x); "
        "p99 latency {:.0f} ms -> {:.0f} ms\n",
        batched.streams, sequential->per_camera_fps, batched.per_camera_fps,
        batched.per_camera_fps / sequential->per_camera_fps, sequential->p99_ms, batched.p99_ms);
  }
  return out;
}

BenchPlot batching_bench_plot(const BatchingBenchResult& result) {
  std::vector<int> cameras;
  std::vector<int> batches;
  for (const auto& r : result.rows) {
    if (std::find(cameras.begin(), cameras.end(), r.streams) == cameras.end()) {
      cameras.push_back(r.streams);
    }
    if (r.mode == "fixed" && std::find(batches.begin(), batches.end(), r.batch) == batches.end()) {
      batches.push_back(r.batch);
    }
  }
  std::sort(cameras.begin(), cameras.end());
  std::sort(batches.begin(), batches.end());
  // One series per mode (sequential, batched, and each fixed batch size), one point per camera
  // count.
  const auto series_of = [&](double BatchingBenchRow::*field) {
    std::vector<BenchSeries> all;
    const auto add = [&](const std::string& label, const auto& matches) {
      BenchSeries s{label, std::vector<double>(cameras.size(), kNoPoint)};
      for (const auto& r : result.rows) {
        if (!matches(r)) continue;
        const auto at = std::find(cameras.begin(), cameras.end(), r.streams) - cameras.begin();
        s.values[static_cast<size_t>(at)] = r.*field;
      }
      all.push_back(s);
    };
    add("sequential (batch 1)", [](const BatchingBenchRow& r) { return r.mode == "sequential"; });
    // One camera alone is both: its point starts the batched line too.
    add("batched (batch = cameras)", [](const BatchingBenchRow& r) {
      return r.mode == "batched" || (r.streams == 1 && r.batch == 1);
    });
    for (int b : batches) {
      add(fmt::format("fixed batch {}", b),
          [b](const BatchingBenchRow& r) { return r.mode == "fixed" && r.batch == b; });
    }
    return all;
  };
  const auto chart = [&](const std::string& title, const std::string& hint,
                         const std::string& y_label, double BatchingBenchRow::*field) {
    BenchChart c;
    c.title = title;
    c.hint = hint;
    c.x_label = "cameras";
    c.y_label = y_label;
    c.log_x = true;
    for (int n : cameras) c.x.push_back(n);
    c.series = series_of(field);
    return c;
  };
  BenchPlot plot;
  plot.title = "bench batching";
  plot.charts.push_back(chart("FPS per camera", "What each camera gets as cameras are added.",
                              "FPS per camera", &BatchingBenchRow::per_camera_fps));
  plot.charts.push_back(chart("Aggregate FPS", "Frames per second over all cameras together.",
                              "FPS", &BatchingBenchRow::aggregate_fps));
  plot.charts.push_back(chart("End-to-end latency, p99", "Decode start to detections, per frame.",
                              "ms", &BatchingBenchRow::p99_ms));
  return plot;
}

Result<std::string> write_batching_bench_csv(const BatchingBenchResult& result,
                                             const std::string& dir) {
  std::ofstream csv;
  auto path = create_bench_file("batching", dir, "batching.csv", csv);
  if (!path) return path.status();
  csv << "streams,batch,mode,frames,wall_s,aggregate_fps,per_camera_fps,drop_vs_one_camera,"
         "p50_ms,p99_ms\n";
  for (const auto& r : result.rows) {
    csv << fmt::format("{},{},{},{},{:.4f},{:.4f},{:.4f},{:.4f},{:.3f},{:.3f}\n", r.streams,
                       r.batch, r.mode, r.frames, r.wall_s, r.aggregate_fps, r.per_camera_fps,
                       r.drop_vs_one_camera, r.p50_ms, r.p99_ms);
  }
  SI_RETURN_IF_ERROR(close_bench_file("batching", path.value(), csv));
  return path;
}

}  // namespace streaminfer
