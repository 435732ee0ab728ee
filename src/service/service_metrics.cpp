#include "service/service_metrics.h"

#include <fmt/format.h>

#include "service/process_stats.h"
#include "streaminfer/clock.h"

namespace streaminfer {

namespace {

// Seconds: from half a millisecond (a preprocess of a small frame) to 10 s (a stalled stage).
std::vector<double> stage_bounds() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

constexpr double kRateWindowSeconds = 1.0;

template <size_t N>
std::array<PrometheusHistogram, N> histograms(const std::vector<double>& bounds) {
  return [&]<size_t... I>(std::index_sequence<I...>) {
    return std::array<PrometheusHistogram, N>{((void)I, PrometheusHistogram(bounds))...};
  }
  (std::make_index_sequence<N>{});
}

}  // namespace

ServiceMetrics::ServiceMetrics()
    : start_ns_(now_ns()),
      stage_seconds_(histograms<kStages>(stage_bounds())),
      batch_sizes_({1, 2, 4, 8, 16, 32, 64, 128, 256}),
      window_start_ns_(start_ns_) {}

void ServiceMetrics::on_batch(const Batch& batch, const BatchContext& /*context*/) {
  std::lock_guard lock(mutex_);
  batch_sizes_.observe(static_cast<double>(batch.frames.size()));
  for (size_t f = 0; f < batch.frames.size(); ++f) {
    const auto ms = frame_stage_ms(batch.frames[f]->t);
    for (size_t s = 0; s < kStages; ++s) {
      // Inference and postprocess are per batch: once a batch, from its first frame.
      const bool per_batch = s == static_cast<size_t>(Stage::kInference) ||
                             s == static_cast<size_t>(Stage::kPostprocess);
      if (per_batch && f > 0) continue;
      stage_seconds_[s].observe(ms[s] / 1000.0);
      stage_ms_[s].add(ms[s]);
    }
  }
}

void ServiceMetrics::on_queue_sample(int64_t ts_ns, const std::vector<StreamQueueSample>& samples) {
  std::lock_guard lock(mutex_);
  const double elapsed = ns_to_ms(ts_ns - window_start_ns_) / 1000.0;
  if (elapsed < kRateWindowSeconds) return;
  fps_.clear();
  std::map<int, int64_t> done;
  for (const auto& s : samples) {
    const auto before = window_start_done_.find(s.stream_id);
    const int64_t base = before == window_start_done_.end() ? 0 : before->second;
    fps_[s.stream_id] = static_cast<double>(s.done - base) / elapsed;
    done[s.stream_id] = s.done;
  }
  window_start_done_ = std::move(done);
  window_start_ns_ = ts_ns;
}

std::string ServiceMetrics::prometheus(const std::vector<StreamState>& streams,
                                       const ServiceDescription& what, int64_t batches) const {
  PrometheusText out(what.worker.empty() ? MetricLabels{} : MetricLabels{{"worker", what.worker}});
  std::vector<const StreamState*> running;
  for (const auto& s : streams) {
    if (!s.removed) running.push_back(&s);
  }
  const auto per_stream = [&](const std::string& name, const std::string& type,
                              const std::string& help, auto value) {
    out.family(name, type, help);
    for (const StreamState* s : running) {
      out.sample(name, {{"stream", s->name}}, static_cast<double>(value(*s)));
    }
  };
  per_stream("streaminfer_frames_total", "counter", "Frames with a result (one JSONL line each).",
             [](const StreamState& s) { return s.done; });
  per_stream("streaminfer_frames_decoded_total", "counter", "Pictures the source produced.",
             [](const StreamState& s) { return s.decoded; });
  per_stream("streaminfer_frames_skipped_total", "counter",
             "Frames left out on purpose (every_nth, sample_fps).",
             [](const StreamState& s) { return s.skipped; });
  per_stream("streaminfer_frames_dropped_total", "counter",
             "Frames a live stream dropped because inference was behind.",
             [](const StreamState& s) { return s.dropped; });
  per_stream("streaminfer_reconnects_total", "counter", "Live sources: drops that were re-opened.",
             [](const StreamState& s) { return s.reconnects; });
  per_stream("streaminfer_decode_errors_total", "counter", "Corrupt packets or frames skipped.",
             [](const StreamState& s) { return s.decode_errors; });
  per_stream("streaminfer_stream_up", "gauge", "1 while the stream is open and reading.",
             [](const StreamState& s) { return s.up ? 1 : 0; });
  per_stream("streaminfer_queue_depth", "gauge", "Frames waiting in the stream's queue.",
             [](const StreamState& s) { return s.queued; });
  out.family("streaminfer_streams", "gauge", "Streams of the service (removed ones not counted).");
  out.sample("streaminfer_streams", {}, static_cast<double>(running.size()));
  {
    std::lock_guard lock(mutex_);
    out.family("streaminfer_stage_seconds", "histogram",
               "Time per frame in each stage (inference and postprocess: per batch).");
    for (size_t s = 0; s < kStages; ++s) {
      out.histogram("streaminfer_stage_seconds", {{"stage", stage_name(static_cast<Stage>(s))}},
                    stage_seconds_[s]);
    }
    out.family("streaminfer_batch_size", "histogram", "Frames per inference batch.");
    out.histogram("streaminfer_batch_size", {}, batch_sizes_);
  }
  out.family("streaminfer_batches_total", "counter", "Inference batches done.");
  out.sample("streaminfer_batches_total", {}, static_cast<double>(batches));
  out.family("streaminfer_model_info", "gauge", "The model the service runs (value 1).");
  out.sample("streaminfer_model_info",
             {{"model", what.model},
              {"precision", what.precision},
              {"device", what.device},
              {"input", fmt::format("{}x{}", what.input_width, what.input_height)},
              {"batch_size", std::to_string(what.batch_size)},
              {"version", what.version}},
             1);
  const ProcessStats process = read_process_stats();
  out.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
  out.sample("process_resident_memory_bytes", {}, static_cast<double>(process.resident_bytes));
  out.family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
  out.sample("process_virtual_memory_bytes", {}, static_cast<double>(process.virtual_bytes));
  out.family("process_open_fds", "gauge", "Open file descriptors.");
  out.sample("process_open_fds", {}, process.open_fds);
  out.family("process_threads", "gauge", "Threads of the process.");
  out.sample("process_threads", {}, process.threads);
  out.family("process_cpu_seconds_total", "counter", "User and system CPU time in seconds.");
  out.sample("process_cpu_seconds_total", {}, process.cpu_seconds);
  out.family("process_start_time_seconds", "gauge", "Start time since the epoch in seconds.");
  out.sample("process_start_time_seconds", {}, process.start_time_unix_s);
  return out.text();
}

nlohmann::json ServiceMetrics::stats_json(const std::vector<StreamState>& streams,
                                          const ServiceDescription& what, int64_t batches) const {
  nlohmann::json j;
  std::lock_guard lock(mutex_);
  j["uptime_s"] = ns_to_ms(now_ns() - start_ns_) / 1000.0;
  if (!what.worker.empty()) j["worker"] = what.worker;
  j["model"] = what.model;
  j["precision"] = what.precision;
  j["batches"] = batches;
  int64_t frames = 0, dropped = 0;
  double fps = 0;
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& s : streams) {
    if (s.removed) continue;
    const auto rate = fps_.find(s.id);
    const double stream_fps = rate == fps_.end() ? 0.0 : rate->second;
    rows.push_back({{"id", s.id},
                    {"name", s.name},
                    {"status", s.status},
                    {"frames", s.done},
                    {"fps", stream_fps},
                    {"dropped", s.dropped},
                    {"queue", s.queued},
                    {"reconnects", s.reconnects}});
    frames += s.done;
    dropped += s.dropped;
    fps += stream_fps;
  }
  j["frames"] = frames;
  j["dropped"] = dropped;
  j["fps"] = fps;
  j["streams"] = std::move(rows);
  nlohmann::json stages = nlohmann::json::object();
  for (size_t s = 0; s < kStages; ++s) {
    const LatencyHistogram& h = stage_ms_[s];
    stages[stage_name(static_cast<Stage>(s))] = {{"count", h.count()},
                                                 {"p50_ms", h.percentile(50)},
                                                 {"p95_ms", h.percentile(95)},
                                                 {"p99_ms", h.percentile(99)}};
  }
  j["stages"] = std::move(stages);
  const ProcessStats process = read_process_stats();
  j["process"] = {{"rss_bytes", process.resident_bytes},
                  {"open_fds", process.open_fds},
                  {"threads", process.threads}};
  return j;
}

}  // namespace streaminfer
