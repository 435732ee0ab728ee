#include "pipeline/jsonl_output.h"

namespace streaminfer {

Status JsonlOutput::open() {
  auto writer = JsonlWriter::open(path_);
  if (!writer) return Status::error("--output: " + writer.status().message());
  writer_ = std::move(writer.value());
  return Status::ok();
}

void JsonlOutput::on_batch(const Batch& batch, const BatchContext& context) {
  // Once the reader closed stdout nobody reads the lines; the other outputs go on.
  if (!writer_ || stdout_closed_) return;
  for (size_t i = 0; i < batch.frames.size(); ++i) writer_->write_line(context.line(i));
  if (!writer_->flush() && writer_->to_stdout()) stdout_closed_ = true;
}

Status JsonlOutput::close(const RunStats& /*stats*/, nlohmann::json& /*summary*/) {
  if (!writer_) return Status::ok();
  Status closed = writer_->close();
  // A reader that closed stdout was said and stopped the run; it is not a failed write.
  return stdout_closed_ ? Status::ok() : closed;
}

std::vector<std::string> JsonlOutput::written_files() const {
  if (!writer_ || path_ == "-") return {};
  return {path_};
}

}  // namespace streaminfer
