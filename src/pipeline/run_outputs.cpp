#include "pipeline/run_outputs.h"

#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>

#include "infer/caching_cpu_allocator.h"
#include "pipeline/jsonl_output.h"
#include "pipeline/mqtt_output.h"
#include "pipeline/profiler_csv_output.h"
#include "pipeline/trace_output.h"
#include "profile/summary_json.h"
#include "streaminfer/clock.h"

namespace streaminfer {

RunOutputs::RunOutputs(OutputOptions options) : options_(std::move(options)) {
  if (!options_.output_jsonl.empty()) {
    jsonl_ = std::make_shared<JsonlOutput>(options_.output_jsonl);
    peers_.push_back(jsonl_);
  }
  if (!options_.metrics_dir.empty()) {
    peers_.push_back(std::make_shared<ProfilerCsvOutput>(metrics_path('M', "metrics.csv"),
                                                         metrics_path('F', "frames.csv"),
                                                         metrics_path('Q', "queues.csv")));
    summary_path_ = metrics_path('S', "summary.json");
  }
  if (!options_.trace_path.empty()) {
    peers_.push_back(std::make_shared<TraceOutput>(options_.trace_path));
  }
  // Last of the built-in ones: a bad path above fails before a broker is waited for.
  if (!options_.sinks.empty()) peers_.push_back(std::make_shared<MqttOutput>(options_.sinks));
  peers_.insert(peers_.end(), options_.peers.begin(), options_.peers.end());
}

RunOutputs::~RunOutputs() = default;

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
  for (const auto& peer : peers_) SI_RETURN_IF_ERROR(peer->open());
  return Status::ok();
}

Status RunOutputs::start(int64_t run_start_ns, int num_streams) {
  for (const auto& peer : peers_) SI_RETURN_IF_ERROR(peer->start(run_start_ns, num_streams));
  return Status::ok();
}

void RunOutputs::track_accuracy(std::unique_ptr<AccuracyTracker> tracker,
                                std::vector<std::string> labels) {
  accuracy_ = std::move(tracker);
  accuracy_labels_ = std::move(labels);
}

void RunOutputs::on_dropped(const Frame& frame) {
  if (accuracy_) accuracy_->on_dropped(frame);
  for (const auto& peer : peers_) peer->on_dropped(frame);
}

std::optional<RunAccuracy> RunOutputs::accuracy() const {
  if (!accuracy_) return std::nullopt;
  return accuracy_->finish();
}

bool RunOutputs::stdout_closed() const { return jsonl_ && jsonl_->stdout_closed(); }

void RunOutputs::on_batch(const Batch& b, const std::vector<std::string>& labels) {
  BatchContext context(b, labels, [this](const Frame& frame) {
    return JsonlTags{options_.stream_name ? options_.stream_name(frame.stream_id) : "",
                     options_.worker_id};
  });
  context.delivered_start = now_ns();
  for (const auto& peer : peers_) {
    if (peer->role() == OutputPeer::Role::kDeliver) peer->on_batch(b, context);
  }
  context.delivered_end = now_ns();
  // After the delivering peers: measuring accuracy is profiling, not delivering results. The
  // figures count the classes of the model the run started with: batches of a model that
  // replaced it with other classes (a service's reload) are left out of them.
  if (accuracy_ && accuracy_labels_ == labels) {
    for (const auto& frame : b.frames) context.recalls.push_back(accuracy_->on_result(*frame));
  }
  for (const auto& peer : peers_) {
    if (peer->role() == OutputPeer::Role::kProfile) peer->on_batch(b, context);
  }
}

void RunOutputs::on_queue_sample(int64_t ts_ns, const std::vector<StreamQueueSample>& samples) {
  for (const auto& peer : peers_) peer->on_queue_sample(ts_ns, samples);
}

Status RunOutputs::close(const RunStats& stats, const nlohmann::json& system) {
  Status status = Status::ok();
  nlohmann::json summary = summary_to_json(stats, options_.model_name, system);
  for (const auto& peer : peers_) {
    Status closed = peer->close(stats, summary);
    if (status && !closed) status = std::move(closed);
  }
  if (summary_path_.empty()) return status;
  const TensorCacheStats cache = installed_tensor_cache_stats();
  summary["tensor_cache"] = {{"hits", cache.hits},
                             {"misses", cache.misses},
                             {"released", cache.released},
                             {"peak_mb", static_cast<double>(cache.peak_bytes) / (1 << 20)}};
  Status written = write_summary_json(summary_path_, summary);
  return status ? written : status;
}

std::vector<std::string> RunOutputs::written_files() const {
  std::vector<std::string> files;
  for (const auto& peer : peers_) {
    for (auto& file : peer->written_files()) files.push_back(std::move(file));
  }
  if (!summary_path_.empty()) files.push_back(summary_path_);
  return files;
}

}  // namespace streaminfer
