#include "profile/metrics_csv.h"

#include "common/output_path.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <system_error>

namespace streaminfer {

namespace {

constexpr const char* kMetricsHeader =
    "step,read_latency_ms,prep_latency_ms,exec_latency_ms,post_latency_ms,total_step_latency_ms,"
    "batch_size,loss,start_ms,streams,box_loss,cls_loss,dfl_loss,forward_ms,backward_ms,"
    "optimizer_ms\n";

// Empty cell, not 0 or "nan": pandas reads it as NaN, and 0 would look like a real loss.
void append_optional_cell(fmt::memory_buffer& out, const std::optional<double>& value) {
  out.push_back(',');
  if (value) fmt::format_to(std::back_inserter(out), "{}", *value);
}

// RFC 4180 quoting, only when needed: the stream list is normally "0;1;0;1" and stays bare.
void append_csv_field(fmt::memory_buffer& out, const std::string& field) {
  if (field.find_first_of(",\"\r\n") == std::string::npos) {
    out.append(field);
    return;
  }
  out.push_back('"');
  for (char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

}  // namespace

Result<std::unique_ptr<MetricsCsvWriter>> MetricsCsvWriter::open(const std::string& path) {
  SI_RETURN_IF_ERROR(create_parent_directories(path, "per-batch metrics"));
  auto writer = std::make_unique<MetricsCsvWriter>();
  writer->path_ = path;
  errno = 0;
  writer->out_.open(path, std::ios::out | std::ios::trunc);
  if (!writer->out_.is_open()) {
    const int err = errno;
    return Status::error(fmt::format("cannot open metrics file '{}' for writing: {}", path,
                                     err != 0 ? std::strerror(err) : "unknown error"));
  }
  writer->out_ << kMetricsHeader;
  return writer;
}

void MetricsCsvWriter::write(const BatchRecord& r) {
  fmt::memory_buffer line;
  fmt::format_to(std::back_inserter(line), "{},{:.3f},{:.3f},{:.3f},{:.3f},{:.3f},{},", r.step,
                 r.read_ms, r.prep_ms, r.exec_ms, r.post_ms, r.total_ms, r.batch_size);
  if (r.train) fmt::format_to(std::back_inserter(line), "{}", r.train->loss);
  fmt::format_to(std::back_inserter(line), ",{:.3f},", r.start_ms);
  append_csv_field(line, r.streams);
  if (r.train) {
    append_optional_cell(line, r.train->box);
    append_optional_cell(line, r.train->cls);
    append_optional_cell(line, r.train->dfl);
    fmt::format_to(std::back_inserter(line), ",{:.3f},{:.3f},{:.3f}", r.train->forward_ms,
                   r.train->backward_ms, r.train->optimizer_ms);
  } else {
    line.append(std::string_view(",,,,,,"));
  }
  line.push_back('\n');
  out_.write(line.data(), static_cast<std::streamsize>(line.size()));
}

Status MetricsCsvWriter::close() {
  if (!out_.is_open()) return Status::ok();
  out_.flush();
  const bool failed = !out_.good();
  out_.close();
  if (failed || out_.fail()) {
    return Status::error(
        fmt::format("failed writing metrics file '{}' (disk full or file removed?)", path_));
  }
  return Status::ok();
}

std::string run_file_name(char prefix, const std::string& model, int pid,
                          const std::string& suffix) {
  std::string trimmed = model;
  // "models/yolo/" names the folder "yolo", not an empty file name.
  while (trimmed.size() > 1 && (trimmed.back() == '/' || trimmed.back() == '\\'))
    trimmed.pop_back();
  std::string name = std::filesystem::path(trimmed).stem().string();
  if (name.empty()) name = "model";
  for (char& c : name) {
    const bool allowed = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!allowed) c = '_';
  }
  return fmt::format("{}_{}_P_{}_{}", prefix, name, pid, suffix);
}

std::string metrics_file_name(const std::string& model, int pid) {
  return run_file_name('M', model, pid, "metrics.csv");
}

}  // namespace streaminfer
