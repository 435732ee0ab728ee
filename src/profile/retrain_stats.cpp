#include "profile/retrain_stats.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <numeric>

namespace streaminfer {

namespace {

// The 10% of steps at one end (at least one) of `losses`, averaged.
double retrain_tenth_mean(const std::vector<double>& losses, bool last) {
  if (losses.empty()) return 0;
  const size_t n = std::max<size_t>(1, losses.size() / 10);
  const auto begin = last ? losses.end() - static_cast<std::ptrdiff_t>(n) : losses.begin();
  return std::accumulate(begin, begin + static_cast<std::ptrdiff_t>(n), 0.0) /
         static_cast<double>(n);
}

nlohmann::json retrain_stage_json(const LatencyHistogram& h) {
  return {{"count", h.count()},
          {"mean_ms", h.mean()},
          {"p50_ms", h.percentile(50)},
          {"p99_ms", h.percentile(99)},
          {"max_ms", h.max()}};
}

}  // namespace

void RetrainStats::add(const TrainStepRecord& step) {
  losses.push_back(step.loss);
  forward.add(step.forward_ms);
  backward.add(step.backward_ms);
  optimizer.add(step.optimizer_ms);
}

double RetrainStats::first_tenth_loss() const { return retrain_tenth_mean(losses, false); }
double RetrainStats::last_tenth_loss() const { return retrain_tenth_mean(losses, true); }

std::string generated_labels_line(int stream_id) {
  return fmt::format("stream {}: generated labels (profiling only: the loss means nothing)",
                     stream_id);
}

std::string format_retrain(const RetrainStats& stats) {
  fmt::memory_buffer out;
  auto it = std::back_inserter(out);
  fmt::format_to(it, "retrain: {}\n", stats.model);
  fmt::format_to(it, "retrain: {} optimizer step(s), mean loss first 10% {:.4f}, last 10% {:.4f}\n",
                 stats.steps(), stats.first_tenth_loss(), stats.last_tenth_loss());
  fmt::format_to(it, "{:<10} {:>8}  {:>9}  {:>9}  {:>9}\n", "stage", "steps", "mean ms", "p50 ms",
                 "p99 ms");
  const std::pair<const char*, const LatencyHistogram*> stages[] = {
      {"forward", &stats.forward}, {"backward", &stats.backward}, {"optimizer", &stats.optimizer}};
  for (const auto& [name, h] : stages) {
    fmt::format_to(it, "{:<10} {:>8}  {:>9.2f}  {:>9.2f}  {:>9.2f}\n", name, h->count(), h->mean(),
                   h->percentile(50), h->percentile(99));
  }
  for (int id : stats.generated_label_streams) {
    fmt::format_to(it, "{}\n", generated_labels_line(id));
  }
  return fmt::to_string(out);
}

nlohmann::json retrain_to_json(const RetrainStats& stats) {
  return {{"model", stats.model},
          {"steps", stats.steps()},
          {"loss_first_10pct", stats.first_tenth_loss()},
          {"loss_last_10pct", stats.last_tenth_loss()},
          {"generated_label_streams", stats.generated_label_streams},
          {"forward", retrain_stage_json(stats.forward)},
          {"backward", retrain_stage_json(stats.backward)},
          {"optimizer", retrain_stage_json(stats.optimizer)}};
}

}  // namespace streaminfer
