#include "profile/frame_csv.h"

#include "common/output_path.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <system_error>

#include "profile/metrics_csv.h"

namespace streaminfer {

namespace {

constexpr const char* kFrameHeader =
    "stream,frame,step,batch_size,decode_ms,queue_wait_ms,batch_wait_ms,preprocess_ms,"
    "inference_wait_ms,exec_ms,post_ms,end_to_end_ms,done_ms,detections,recall\n";

// ",12.345", or "," alone when either end was not reached: pandas reads the empty cell as NaN,
// where a 0 would pass for a real (and suspiciously good) latency.
void append_ms(fmt::memory_buffer& out, int64_t start, int64_t end) {
  out.push_back(',');
  if (start == 0 || end == 0) return;
  fmt::format_to(std::back_inserter(out), "{:.3f}", static_cast<double>(end - start) / 1e6);
}

}  // namespace

Result<std::unique_ptr<FrameCsvWriter>> FrameCsvWriter::open(const std::string& path,
                                                             int64_t run_start_ns) {
  SI_RETURN_IF_ERROR(create_parent_directories(path, "per-frame metrics"));
  auto writer = std::make_unique<FrameCsvWriter>();
  writer->path_ = path;
  writer->run_start_ns_ = run_start_ns;
  errno = 0;
  writer->out_.open(path, std::ios::out | std::ios::trunc);
  if (!writer->out_.is_open()) {
    const int err = errno;
    return Status::error(fmt::format("cannot open per-frame metrics file '{}' for writing: {}",
                                     path, err != 0 ? std::strerror(err) : "unknown error"));
  }
  writer->out_ << kFrameHeader;
  return writer;
}

void FrameCsvWriter::write(const BatchTimeline& b) {
  fmt::memory_buffer out;
  const size_t size = b.frames.size();
  for (const FrameTimeline& f : b.frames) {
    const FrameTimestamps& t = f.t;
    fmt::format_to(std::back_inserter(out), "{},{},{},{}", f.stream_id, f.frame_index, b.step,
                   size);
    append_ms(out, t.decode_start, t.decode_end);
    append_ms(out, t.decode_end, t.batched);
    append_ms(out, t.batched, t.prep_start);
    append_ms(out, t.prep_start, t.prep_end);
    append_ms(out, t.prep_end, t.infer_start);
    append_ms(out, t.infer_start, t.infer_end);
    append_ms(out, t.post_start, t.post_end);
    append_ms(out, t.decode_start, t.post_end);
    out.push_back(',');
    if (t.post_end != 0) {
      fmt::format_to(std::back_inserter(out), "{:.3f}",
                     static_cast<double>(t.post_end - run_start_ns_) / 1e6);
    }
    fmt::format_to(std::back_inserter(out), ",{},", f.num_detections);
    if (f.recall >= 0) fmt::format_to(std::back_inserter(out), "{:.4f}", f.recall);
    out.push_back('\n');
  }
  out_.write(out.data(), static_cast<std::streamsize>(out.size()));
}

Status FrameCsvWriter::close() {
  if (!out_.is_open()) return Status::ok();
  out_.flush();
  const bool failed = !out_.good();
  out_.close();
  if (failed || out_.fail()) {
    return Status::error(fmt::format(
        "failed writing per-frame metrics file '{}' (disk full or file removed?)", path_));
  }
  return Status::ok();
}

std::string frames_file_name(const std::string& model, int pid) {
  // metrics_file_name() owns the sanitizing rules; taking its model part keeps the two files'
  // names matching without a second copy of those rules.
  const std::string metrics = metrics_file_name(model, pid);
  const std::string suffix = fmt::format("_P_{}_metrics.csv", pid);
  const std::string name = metrics.substr(2, metrics.size() - 2 - suffix.size());
  return fmt::format("F_{}_P_{}_frames.csv", name, pid);
}

}  // namespace streaminfer
