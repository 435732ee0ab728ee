#include "sink/jsonl_writer.h"

#include "common/json_text.h"
#include "common/output_path.h"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <string_view>
#include <system_error>

namespace streaminfer {

namespace {

// JSON has no NaN or infinity; null keeps the line parseable and says "no value". Postprocessing
// leaves out detections with such values (output_health.h): this is the last line of defence.
template <int Decimals>
void append_number(fmt::memory_buffer& out, double value) {
  if (!std::isfinite(value)) {
    out.append(std::string_view("null"));
    return;
  }
  if constexpr (Decimals == 2) {
    fmt::format_to(std::back_inserter(out), "{:.2f}", value);
  } else if constexpr (Decimals == 3) {
    fmt::format_to(std::back_inserter(out), "{:.3f}", value);
  } else {
    fmt::format_to(std::back_inserter(out), "{:.4f}", value);
  }
}

void append_label(fmt::memory_buffer& out, int class_id, const std::vector<std::string>& labels) {
  if (class_id >= 0 && static_cast<size_t>(class_id) < labels.size()) {
    append_json_string(out, labels[static_cast<size_t>(class_id)]);
  } else {
    fmt::format_to(std::back_inserter(out), "\"class_{}\"", class_id);
  }
}

// A classifier's frame: its top classes instead of detections.
void append_classes(fmt::memory_buffer& out, const std::vector<ClassScore>& classes,
                    const std::vector<std::string>& labels) {
  out.append(std::string_view(",\"classes\":["));
  bool first = true;
  for (const ClassScore& c : classes) {
    if (!first) out.push_back(',');
    first = false;
    fmt::format_to(std::back_inserter(out), "{{\"class_id\":{},\"label\":", c.class_id);
    append_label(out, c.class_id, labels);
    out.append(std::string_view(",\"score\":"));
    append_number<4>(out, c.score);
    out.push_back('}');
  }
  out.append(std::string_view("]}"));
}

void append_jsonl_line(fmt::memory_buffer& out, const Frame& frame,
                       const std::vector<std::string>& labels, const JsonlTags& tags) {
  fmt::format_to(std::back_inserter(out), "{{\"stream\":{}", frame.stream_id);
  if (!tags.name.empty()) {
    out.append(std::string_view(",\"name\":"));
    append_json_string(out, tags.name);
  }
  if (!tags.worker.empty()) {
    out.append(std::string_view(",\"worker\":"));
    append_json_string(out, tags.worker);
  }
  fmt::format_to(std::back_inserter(out), ",\"frame\":{},\"pts\":", frame.index);
  append_number<3>(out, frame.pts_seconds);
  if (frame.classified || !frame.classes.empty()) {
    append_classes(out, frame.classes, labels);
    return;
  }
  out.append(std::string_view(",\"detections\":["));
  bool first = true;
  for (const Detection& d : frame.detections) {
    if (!first) out.push_back(',');
    first = false;
    out.append(std::string_view("{\"box\":["));
    append_number<2>(out, d.box.x1);
    out.push_back(',');
    append_number<2>(out, d.box.y1);
    out.push_back(',');
    append_number<2>(out, d.box.x2);
    out.push_back(',');
    append_number<2>(out, d.box.y2);
    out.append(std::string_view("],\"score\":"));
    append_number<4>(out, d.score);
    fmt::format_to(std::back_inserter(out), ",\"class\":{},\"label\":", d.class_id);
    append_label(out, d.class_id, labels);
    out.push_back('}');
  }
  out.append(std::string_view("]}"));
}

}  // namespace

std::string format_jsonl_line(const Frame& frame, const std::vector<std::string>& labels,
                              const JsonlTags& tags) {
  fmt::memory_buffer out;
  append_jsonl_line(out, frame, labels, tags);
  return fmt::to_string(out);
}

Result<std::unique_ptr<JsonlWriter>> JsonlWriter::open(const std::string& path) {
  auto writer = std::make_unique<JsonlWriter>();
  writer->path_ = path;
  if (path == "-") {
    writer->out_ = &std::cout;
    return writer;
  }
  SI_RETURN_IF_ERROR(create_parent_directories(path, "detections"));
  errno = 0;
  writer->file_.open(path, std::ios::out | std::ios::trunc | std::ios::binary);
  if (!writer->file_.is_open()) {
    const int err = errno;
    return Status::error(fmt::format("cannot open detections file '{}' for writing: {}", path,
                                     err != 0 ? std::strerror(err) : "unknown error"));
  }
  writer->out_ = &writer->file_;
  return writer;
}

void JsonlWriter::write_line(std::string_view line) {
  if (out_ == nullptr) return;  // closed
  out_->write(line.data(), static_cast<std::streamsize>(line.size()));
  out_->put('\n');
}

void JsonlWriter::write(const Frame& frame, const std::vector<std::string>& labels,
                        const JsonlTags& tags) {
  if (out_ == nullptr) return;  // closed
  // One write per line: the stack buffer avoids an allocation for typical frames.
  fmt::memory_buffer line;
  append_jsonl_line(line, frame, labels, tags);
  line.push_back('\n');
  out_->write(line.data(), static_cast<std::streamsize>(line.size()));
}

bool JsonlWriter::flush() {
  if (out_ == nullptr) return false;
  out_->flush();
  return out_->good();
}

Status JsonlWriter::close() {
  if (out_ == nullptr) return Status::ok();
  out_->flush();
  bool failed = !out_->good();
  if (out_ == &file_) {
    file_.close();
    failed = failed || file_.fail();
  }
  out_ = nullptr;
  if (failed) {
    const std::string where = path_ == "-" ? std::string("stdout") : "'" + path_ + "'";
    return Status::error(fmt::format(
        "failed writing detections to {} (disk full, file removed or pipe closed?)", where));
  }
  return Status::ok();
}

}  // namespace streaminfer
