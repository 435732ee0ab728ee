#include "bench/decode_experiment.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include "source/source.h"
#include "streaminfer/clock.h"

namespace streaminfer {
namespace {

constexpr const char* kDecodeExperiment = "decode";

Status check(const DecodeBenchOptions& o) {
  const auto in_range = [](const char* flag, const std::vector<int>& values, int lo, int hi) {
    if (values.empty()) return Status::error(fmt::format("bench decode: {} is empty", flag));
    for (int v : values) {
      if (v < lo || v > hi) {
        return Status::error(
            fmt::format("bench decode: {} values must be {}..{} (got {})", flag, lo, hi, v));
      }
    }
    return Status::ok();
  };
  SI_RETURN_IF_ERROR(in_range("--streams", o.streams, 1, 256));
  SI_RETURN_IF_ERROR(in_range("--decode-threads", o.decode_threads, 0, 64));
  if (o.frames < 1) {
    return Status::error(
        fmt::format("bench decode: --frames must be at least 1 (got {})", o.frames));
  }
  if (o.target_fps <= 0) return Status::error("bench decode: --target-fps must be positive");
  return Status::ok();
}

// All streams open first (opening is not decoding), then start together.
Result<DecodeBenchRow> run_once(const DecodeBenchOptions& o, const std::string& uri, int streams,
                                int decode_threads) {
  SourceOptions source_options;
  source_options.decode_threads = decode_threads;
  std::vector<std::unique_ptr<Source>> sources;
  for (int s = 0; s < streams; ++s) {
    auto source = open_source(uri, source_options);
    if (!source) return source.status();
    sources.push_back(std::move(source.value()));
  }
  std::atomic<int64_t> decoded{0};
  std::mutex error_mutex;
  Status first_error = Status::ok();
  const int64_t start = now_ns();
  std::vector<std::thread> threads;
  for (auto& source : sources) {
    threads.emplace_back([&, s = source.get()] {
      for (int64_t i = 0; i < o.frames; ++i) {
        FramePtr frame;
        const Status status = s->next(frame);
        if (!status) {
          std::lock_guard lock(error_mutex);
          if (first_error) first_error = status;
          return;
        }
        if (!frame) return;
        decoded.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (auto& t : threads) t.join();
  SI_RETURN_IF_ERROR(first_error);
  DecodeBenchRow row;
  row.streams = streams;
  row.decode_threads = decode_threads;
  row.frames = decoded.load();
  row.wall_s = ns_to_ms(now_ns() - start) / 1000.0;
  row.aggregate_fps = row.wall_s > 0 ? static_cast<double>(row.frames) / row.wall_s : 0.0;
  row.per_stream_fps = row.aggregate_fps / streams;
  row.keeps_up = row.per_stream_fps >= o.target_fps;
  return row;
}

}  // namespace

Result<DecodeBenchResult> run_decode_bench(const DecodeBenchOptions& options) {
  SI_RETURN_IF_ERROR(check(options));
  DecodeBenchResult result;
  result.options = options;
  if (options.source.empty()) {
    ClipOptions clip;
    clip.width = options.clip_width;
    clip.height = options.clip_height;
    clip.frames = std::max<int64_t>(options.frames, 300);
    auto path = bench_clip(kDecodeExperiment, options.clip_dir, clip);
    if (!path) return path.status();
    result.source = path.value();
  } else {
    result.source = options.source;
  }
  {
    auto probe = open_source(result.source, SourceOptions{});
    if (!probe) return probe.status();
    result.source_description = probe.value()->info().description;
  }
  for (int threads : options.decode_threads) {
    for (int streams : options.streams) {
      auto row = run_once(options, result.source, streams, threads);
      if (!row) return row.status();
      result.rows.push_back(row.value());
      result.ceiling_streams =
          std::max(result.ceiling_streams, row.value().aggregate_fps / options.target_fps);
    }
  }
  return result;
}

std::string format_decode_bench(const DecodeBenchResult& result) {
  const auto& o = result.options;
  std::string out = fmt::format(
      "bench decode: {} ({}), up to {} frames per stream, no inference, all streams at once\n",
      result.source, result.source_description, o.frames);
  out += fmt::format("{:>7} {:>14} {:>7} {:>8} {:>13} {:>12} {:>16}\n", "streams", "decode threads",
                     "frames", "wall s", "aggregate fps", "fps/stream",
                     fmt::format("keeps {:g} fps", o.target_fps));
  for (const auto& r : result.rows) {
    out += fmt::format("{:>7} {:>14} {:>7} {:>8.2f} {:>13.1f} {:>12.1f} {:>16}\n", r.streams,
                       r.decode_threads, r.frames, r.wall_s, r.aggregate_fps, r.per_stream_fps,
                       r.keeps_up ? "yes" : "no");
  }
  out += fmt::format(
      "decode ceiling: about {:.1f} simultaneous {:g} fps streams of this video on this machine "
      "(best aggregate / {:g}), with nothing else running\n",
      result.ceiling_streams, o.target_fps, o.target_fps);
  return out;
}

BenchPlot decode_bench_plot(const DecodeBenchResult& result) {
  BenchChart c;
  c.title = "Aggregate decode throughput";
  c.x_label = "streams";
  c.y_label = "frames per second";
  c.log_x = true;
  std::vector<int> streams = result.options.streams;
  std::sort(streams.begin(), streams.end());
  streams.erase(std::unique(streams.begin(), streams.end()), streams.end());
  for (int s : streams) c.x.push_back(s);
  for (int threads : result.options.decode_threads) {
    BenchSeries series{fmt::format("{} decode thread(s) per stream", threads),
                       std::vector<double>(streams.size(), kNoPoint)};
    for (const auto& r : result.rows) {
      if (r.decode_threads != threads) continue;
      const auto i = static_cast<size_t>(std::find(streams.begin(), streams.end(), r.streams) -
                                         streams.begin());
      series.values[i] = r.aggregate_fps;
    }
    c.series.push_back(series);
  }
  BenchSeries needed{"needed for realtime", {}};
  for (int s : streams) needed.values.push_back(s * result.options.target_fps);
  c.series.push_back(needed);
  c.hint = fmt::format(
      "Where a line is above 'needed for realtime', that many {:g} fps streams "
      "are decoded in real time.",
      result.options.target_fps);
  BenchPlot plot;
  plot.title = "bench decode";
  plot.charts.push_back(c);
  return plot;
}

Result<std::string> write_decode_bench_csv(const DecodeBenchResult& result,
                                           const std::string& dir) {
  std::ofstream csv;
  auto path = create_bench_file(kDecodeExperiment, dir, "decode.csv", csv);
  if (!path) return path.status();
  csv << "streams,decode_threads,frames,wall_s,aggregate_fps,per_stream_fps,keeps_up\n";
  for (const auto& r : result.rows) {
    csv << fmt::format("{},{},{},{:.4f},{:.3f},{:.3f},{}\n", r.streams, r.decode_threads, r.frames,
                       r.wall_s, r.aggregate_fps, r.per_stream_fps, r.keeps_up ? 1 : 0);
  }
  SI_RETURN_IF_ERROR(close_bench_file(kDecodeExperiment, path.value(), csv));
  return path;
}

}  // namespace streaminfer
