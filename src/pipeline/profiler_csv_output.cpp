#include "pipeline/profiler_csv_output.h"

#include <fmt/format.h>

#include "streaminfer/clock.h"

namespace streaminfer {

Status ProfilerCsvOutput::open() {
  auto writer = MetricsCsvWriter::open(batch_path_);
  if (!writer) return Status::error("--metrics-dir: " + writer.status().message());
  batch_csv_ = std::move(writer.value());
  return Status::ok();
}

Status ProfilerCsvOutput::start(int64_t run_start_ns, int /*num_streams*/) {
  run_start_ns_ = run_start_ns;
  auto frames = FrameCsvWriter::open(frame_path_, run_start_ns);
  if (!frames) return Status::error("--metrics-dir: " + frames.status().message());
  frame_csv_ = std::move(frames.value());
  queue_csv_.open(queue_path_, std::ios::trunc);
  if (!queue_csv_)
    return Status::error(fmt::format("--metrics-dir: cannot write '{}'", queue_path_));
  queue_csv_ << "time_ms,stream,depth,dropped\n";
  return Status::ok();
}

void ProfilerCsvOutput::on_batch(const Batch& b, const BatchContext& context) {
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
  if (frame_csv_) frame_csv_->write(context.timeline());
}

void ProfilerCsvOutput::on_queue_sample(int64_t ts_ns,
                                        const std::vector<StreamQueueSample>& samples) {
  if (!queue_csv_.is_open()) return;
  const double t = ms_between(run_start_ns_, ts_ns);
  for (const auto& s : samples) {
    queue_csv_ << fmt::format("{:.3f},{},{},{}\n", t, s.stream_id, s.depth, s.dropped);
  }
}

Status ProfilerCsvOutput::close(const RunStats& /*stats*/, nlohmann::json& /*summary*/) {
  Status status = Status::ok();
  const auto keep_first_error = [&](Status s) {
    if (status && !s) status = std::move(s);
  };
  if (batch_csv_) keep_first_error(batch_csv_->close());
  if (frame_csv_) keep_first_error(frame_csv_->close());
  if (queue_csv_.is_open()) {
    queue_csv_.close();
    if (!queue_csv_) keep_first_error(Status::error("cannot write '" + queue_path_ + "'"));
  }
  return status;
}

std::vector<std::string> ProfilerCsvOutput::written_files() const {
  std::vector<std::string> files;
  if (batch_csv_) files.push_back(batch_csv_->path());
  if (frame_csv_) files.push_back(frame_csv_->path());
  if (!queue_path_.empty()) files.push_back(queue_path_);
  return files;
}

}  // namespace streaminfer
