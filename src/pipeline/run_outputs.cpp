#include "pipeline/run_outputs.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "common/console.h"
#include "infer/caching_cpu_allocator.h"
#include "profile/summary_json.h"
#include "profile/timeline.h"
#include "streaminfer/clock.h"

namespace streaminfer {

namespace {

// The sinks' stats message period, and how long closing waits for their queues to drain.
constexpr double kStatsIntervalSeconds = 1.0;
constexpr auto kSinkFlushTimeout = std::chrono::seconds(2);
// How long open() waits for the first connection attempt before warning that the broker is not
// there (a refused connection answers at once; an unanswered one takes this long).
constexpr auto kSinkFirstAttemptWait = std::chrono::seconds(1);

std::chrono::milliseconds time_left(std::chrono::steady_clock::time_point deadline) {
  return std::max(std::chrono::milliseconds(0),
                  std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now()));
}

BatchTimeline timeline_of(const Batch& b) {
  BatchTimeline t;
  t.step = b.step;
  t.read_start = b.read_start;
  t.read_end = b.read_end;
  t.prep_start = b.prep_start;
  t.prep_end = b.prep_end;
  t.infer_start = b.infer_start;
  t.infer_end = b.infer_end;
  t.post_start = b.post_start;
  t.post_end = b.post_end;
  t.train = b.train;
  for (const auto& frame : b.frames) {
    t.frames.push_back(
        {frame->stream_id, frame->index, frame->t, static_cast<int>(frame->detections.size())});
  }
  return t;
}

}  // namespace

RunOutputs::RunOutputs(OutputOptions options) : options_(std::move(options)) {}

std::string RunOutputs::metrics_path(char prefix, const std::string& suffix) const {
  return (std::filesystem::path(options_.metrics_dir) /
          run_file_name(prefix, options_.model_name, static_cast<int>(getpid()), suffix))
      .string();
}

std::vector<std::pair<std::string, std::string>> RunOutputs::planned_files() const {
  std::vector<std::pair<std::string, std::string>> files;
  if (!options_.output_jsonl.empty()) files.emplace_back("--output", options_.output_jsonl);
  if (!options_.trace_path.empty()) files.emplace_back("--trace", options_.trace_path);
  if (!options_.metrics_dir.empty()) {
    for (const auto& [prefix, suffix] : {std::pair{'M', "metrics.csv"},
                                         {'F', "frames.csv"},
                                         {'Q', "queues.csv"},
                                         {'S', "summary.json"}}) {
      files.emplace_back("--metrics-dir", metrics_path(prefix, suffix));
    }
  }
  return files;
}

Status RunOutputs::open() {
  if (!options_.output_jsonl.empty()) {
    auto writer = JsonlWriter::open(options_.output_jsonl);
    if (!writer) return Status::error("--output: " + writer.status().message());
    jsonl_ = std::move(writer.value());
  }
  if (!options_.metrics_dir.empty()) {
    auto writer = MetricsCsvWriter::open(metrics_path('M', "metrics.csv"));
    if (!writer) return Status::error("--metrics-dir: " + writer.status().message());
    batch_csv_ = std::move(writer.value());
    queue_csv_path_ = metrics_path('Q', "queues.csv");
    summary_path_ = metrics_path('S', "summary.json");
  }
  if (!options_.trace_path.empty()) {
    std::ofstream probe(options_.trace_path, std::ios::trunc);
    if (!probe) {
      return Status::error(
          fmt::format("--trace: cannot write '{}' (check the directory exists and is writable)",
                      options_.trace_path));
    }
  }
  for (const auto& uri : options_.sinks) {
    auto parsed = parse_mqtt_uri(uri);
    if (!parsed) return parsed.status();
    auto sink = MqttSink::open(std::move(parsed.value()));
    if (!sink) return sink.status();
    sinks_.push_back(std::move(sink.value()));
  }
  // Connect all at once, then say which brokers are not there; the run goes on either way. One
  // deadline for all: brokers that do not answer delay the start by a second, not one each.
  const auto deadline = std::chrono::steady_clock::now() + kSinkFirstAttemptWait;
  for (const auto& sink : sinks_) {
    if (sink->wait_first_attempt(time_left(deadline))) continue;
    const MqttSinkCounters c = sink->counters();
    std::fprintf(stderr,
                 "streaminfer: warning: --sink '%s': broker not reachable (%s); detections are "
                 "queued (at most %zu, then the oldest are dropped) and published once it is\n",
                 sink->uri().uri.c_str(),
                 c.last_error.empty() ? "no answer yet" : c.last_error.c_str(), sink->uri().queue);
  }
  return Status::ok();
}

Status RunOutputs::start(int64_t run_start_ns, int num_streams) {
  run_start_ns_ = run_start_ns;
  last_stats_.frames_done.assign(static_cast<size_t>(num_streams), 0);
  last_stats_.dropped.assign(static_cast<size_t>(num_streams), 0);
  if (!options_.metrics_dir.empty()) {
    auto frames = FrameCsvWriter::open(metrics_path('F', "frames.csv"), run_start_ns);
    if (!frames) return Status::error("--metrics-dir: " + frames.status().message());
    frame_csv_ = std::move(frames.value());
    queue_csv_.open(queue_csv_path_, std::ios::trunc);
    if (!queue_csv_) {
      return Status::error(fmt::format("--metrics-dir: cannot write '{}'", queue_csv_path_));
    }
    queue_csv_ << "time_ms,stream,depth,dropped\n";
  }
  if (!options_.trace_path.empty()) {
    auto trace = TraceWriter::open(options_.trace_path, run_start_ns, num_streams);
    if (!trace) return Status::error("--trace: " + trace.status().message());
    trace_ = std::move(trace.value());
  }
  return Status::ok();
}

void RunOutputs::track_accuracy(std::unique_ptr<AccuracyTracker> tracker) {
  accuracy_ = std::move(tracker);
}

void RunOutputs::on_dropped(const Frame& frame) {
  if (accuracy_) accuracy_->on_dropped(frame);
  for (const auto& peer : options_.peers) peer->on_dropped(frame);
}

std::optional<RunAccuracy> RunOutputs::accuracy() const {
  if (!accuracy_) return std::nullopt;
  return accuracy_->finish();
}

void RunOutputs::on_batch(const Batch& b, const std::vector<std::string>& labels) {
  const int64_t sink_start = now_ns();
  // Once the reader closed stdout nobody reads the lines; sinks and profiler files go on.
  JsonlWriter* jsonl = stdout_closed_ ? nullptr : jsonl_.get();
  const auto tags_of = [&](const Frame& frame) {
    return JsonlTags{options_.stream_name ? options_.stream_name(frame.stream_id) : "",
                     options_.worker_id};
  };
  if (sinks_.empty()) {
    if (jsonl) {
      for (const auto& frame : b.frames) jsonl->write(*frame, labels, tags_of(*frame));
    }
  } else {
    // The sinks publish the JSONL line itself: formatted once for the file and every sink.
    for (const auto& frame : b.frames) {
      const std::string line = format_jsonl_line(*frame, labels, tags_of(*frame));
      if (jsonl) jsonl->write_line(line);
      for (const auto& sink : sinks_) sink->publish(MqttSink::Channel::kEvents, line);
    }
  }
  // Once a batch: a reader following the file or the pipe sees each batch's lines as it ends.
  if (jsonl && !jsonl->flush() && jsonl->to_stdout()) stdout_closed_ = true;
  if (batch_csv_) {
    BatchRecord record;
    record.step = b.step;
    record.read_ms = ms_between(b.read_start, b.read_end);
    record.prep_ms = ms_between(b.prep_start, b.prep_end);
    record.exec_ms = ms_between(b.infer_start, b.infer_end);
    record.post_ms = ms_between(b.post_start, b.post_end);
    record.total_ms = record.read_ms + record.prep_ms + record.exec_ms + record.post_ms;
    record.batch_size = static_cast<int>(b.frames.size());
    record.train = b.train;
    record.start_ms = ms_between(run_start_ns_, b.read_end);
    for (const auto& frame : b.frames) {
      if (!record.streams.empty()) record.streams += ';';
      record.streams += std::to_string(frame->stream_id);
    }
    batch_csv_->write(record);
  }
  for (const auto& peer : options_.peers) peer->on_batch(b);
  const int64_t sink_end = now_ns();
  // After the sinks: measuring accuracy is profiling, not delivering results.
  recalls_.clear();
  // The figures count the classes of the model the run started with: batches of a model that
  // replaced it with other classes (a service's reload) are left out of them.
  if (accuracy_ && !accuracy_labels_) accuracy_labels_ = labels;
  if (accuracy_ && *accuracy_labels_ == labels) {
    for (const auto& frame : b.frames) recalls_.push_back(accuracy_->on_result(*frame));
  }
  if (frame_csv_ || trace_) {
    BatchTimeline timeline = timeline_of(b);
    timeline.sink_start = sink_start;
    timeline.sink_end = sink_end;
    for (size_t i = 0; i < recalls_.size(); ++i) timeline.frames[i].recall = recalls_[i];
    if (frame_csv_) frame_csv_->write(timeline);
    if (trace_) trace_->add_batch(timeline);
  }
}

void RunOutputs::on_queue_sample(int64_t ts_ns, const std::vector<StreamQueueSample>& samples) {
  if (queue_csv_.is_open()) {
    const double t = ms_between(run_start_ns_, ts_ns);
    for (const auto& s : samples) {
      queue_csv_ << fmt::format("{:.3f},{},{},{}\n", t, s.stream_id, s.depth, s.dropped);
    }
  }
  if (trace_) {
    std::vector<std::pair<std::string, double>> depth_series, dropped_series;
    for (const auto& s : samples) {
      depth_series.emplace_back(fmt::format("stream {}", s.stream_id),
                                static_cast<double>(s.depth));
      dropped_series.emplace_back(fmt::format("stream {}", s.stream_id),
                                  static_cast<double>(s.dropped));
    }
    trace_->add_counter("queue depth", ts_ns, depth_series);
    trace_->add_counter("dropped frames", ts_ns, dropped_series);
  }
  if (!sinks_.empty()) {
    StatsSnapshot now;
    now.time_s = ms_between(run_start_ns_, ts_ns) / 1000.0;
    for (const auto& s : samples) {
      const auto at = static_cast<size_t>(s.stream_id);
      if (now.frames_done.size() <= at) {
        now.frames_done.resize(at + 1, 0);
        now.dropped.resize(at + 1, 0);
      }
      now.frames_done[at] = s.done;
      now.dropped[at] = s.dropped;
    }
    if (now.time_s - last_stats_.time_s >= kStatsIntervalSeconds) {
      for (const auto& sink : sinks_) {
        sink->publish(MqttSink::Channel::kStats,
                      stats_message(now, last_stats_, false, sink->counters()).dump());
      }
      last_stats_ = now;
    }
  }
  for (const auto& peer : options_.peers) peer->on_queue_sample(ts_ns, samples);
}

nlohmann::json RunOutputs::close_sinks(const RunStats& stats) {
  nlohmann::json block = nlohmann::json::array();
  if (sinks_.empty()) return block;
  // The final message covers the whole run, with the summary's own numbers.
  StatsSnapshot final_stats, run_start;
  final_stats.time_s = stats.wall_seconds;
  for (const auto& s : stats.streams) {
    final_stats.frames_done.push_back(s.frames_done);
    final_stats.dropped.push_back(s.dropped);
  }
  run_start.frames_done.assign(final_stats.frames_done.size(), 0);
  for (const auto& sink : sinks_) {
    sink->publish(MqttSink::Channel::kStats,
                  stats_message(final_stats, run_start, true, sink->counters()).dump());
  }
  // One flush deadline for all of them: ten brokers that are down wait 2 s, not 20.
  const auto deadline = std::chrono::steady_clock::now() + kSinkFlushTimeout;
  for (const auto& sink : sinks_) {
    const MqttSinkCounters c = sink->close(time_left(deadline));
    nlohmann::json entry = to_json(c);
    entry["uri"] = sink->uri().uri;
    block.push_back(std::move(entry));
    std::fprintf(
        info_out(),
        "sink %s: %lld of %lld messages published, %lld dropped (queue full), %lld lost on "
        "disconnect, %lld unsent at exit, %lld reconnect(s)%s%s\n",
        sink->uri().uri.c_str(), static_cast<long long>(c.published),
        static_cast<long long>(c.accepted), static_cast<long long>(c.dropped),
        static_cast<long long>(c.lost), static_cast<long long>(c.unsent),
        static_cast<long long>(c.reconnects()), c.connects == 0 ? ", never connected: " : "",
        c.connects == 0 ? c.last_error.c_str() : "");
  }
  return block;
}

Status RunOutputs::close(const RunStats& stats, const nlohmann::json& system) {
  Status status = Status::ok();
  auto keep_first_error = [&](Status s) {
    if (status && !s) status = std::move(s);
  };
  if (jsonl_) {
    Status jsonl_closed = jsonl_->close();
    // A reader that closed stdout was said and stopped the run; it is not a failed write.
    if (!stdout_closed_) keep_first_error(std::move(jsonl_closed));
  }
  if (batch_csv_) keep_first_error(batch_csv_->close());
  if (frame_csv_) keep_first_error(frame_csv_->close());
  if (queue_csv_.is_open()) {
    queue_csv_.close();
    if (!queue_csv_) keep_first_error(Status::error("cannot write '" + queue_csv_path_ + "'"));
  }
  if (trace_) keep_first_error(trace_->close());
  nlohmann::json sinks = close_sinks(stats);
  if (!summary_path_.empty()) {
    nlohmann::json summary = summary_to_json(stats, options_.model_name, system);
    if (!sinks.empty()) summary["sinks"] = std::move(sinks);
    const TensorCacheStats cache = installed_tensor_cache_stats();
    summary["tensor_cache"] = {{"hits", cache.hits},
                               {"misses", cache.misses},
                               {"released", cache.released},
                               {"peak_mb", static_cast<double>(cache.peak_bytes) / (1 << 20)}};
    keep_first_error(write_summary_json(summary_path_, summary));
  }
  return status;
}

std::vector<std::string> RunOutputs::written_files() const {
  std::vector<std::string> files;
  if (jsonl_ && options_.output_jsonl != "-") files.push_back(options_.output_jsonl);
  if (batch_csv_) files.push_back(batch_csv_->path());
  if (frame_csv_) files.push_back(frame_csv_->path());
  if (!queue_csv_path_.empty()) files.push_back(queue_csv_path_);
  if (!summary_path_.empty()) files.push_back(summary_path_);
  if (trace_) files.push_back(trace_->path());
  return files;
}

}  // namespace streaminfer
