#include "pipeline/trace_output.h"

#include <fmt/format.h>

#include <fstream>
#include <utility>

namespace streaminfer {

Status TraceOutput::open() {
  std::ofstream probe(path_, std::ios::trunc);
  if (!probe) {
    return Status::error(fmt::format(
        "--trace: cannot write '{}' (check the directory exists and is writable)", path_));
  }
  return Status::ok();
}

Status TraceOutput::start(int64_t run_start_ns, int num_streams) {
  auto trace = TraceWriter::open(path_, run_start_ns, num_streams);
  if (!trace) return Status::error("--trace: " + trace.status().message());
  trace_ = std::move(trace.value());
  return Status::ok();
}

void TraceOutput::on_batch(const Batch& /*batch*/, const BatchContext& context) {
  if (trace_) trace_->add_batch(context.timeline());
}

void TraceOutput::on_queue_sample(int64_t ts_ns, const std::vector<StreamQueueSample>& samples) {
  if (!trace_) return;
  std::vector<std::pair<std::string, double>> depth_series, dropped_series;
  for (const auto& s : samples) {
    depth_series.emplace_back(fmt::format("stream {}", s.stream_id), static_cast<double>(s.depth));
    dropped_series.emplace_back(fmt::format("stream {}", s.stream_id),
                                static_cast<double>(s.dropped));
  }
  trace_->add_counter("queue depth", ts_ns, depth_series);
  trace_->add_counter("dropped frames", ts_ns, dropped_series);
}

Status TraceOutput::close(const RunStats& /*stats*/, nlohmann::json& /*summary*/) {
  return trace_ ? trace_->close() : Status::ok();
}

std::vector<std::string> TraceOutput::written_files() const {
  if (!trace_) return {};
  return {trace_->path()};
}

}  // namespace streaminfer
