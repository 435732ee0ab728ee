#include "profile/trace_writer.h"

#include "common/json_text.h"
#include "common/output_path.h"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <system_error>

namespace streaminfer {

namespace {

constexpr int kPid = 1;

using Buffer = fmt::memory_buffer;

// Integer arithmetic, not a double: the 3 decimals are then exactly the nanoseconds, however
// long the run.
void append_us(Buffer& out, int64_t ns) {
  if (ns < 0) {
    out.push_back('-');
    ns = -ns;
  }
  fmt::format_to(std::back_inserter(out), "{}.{:03}", ns / 1000, ns % 1000);
}

// Separates the events of one call; the writer adds the separator between calls.
void next_event(Buffer& out) {
  if (out.size() != 0) out.append(std::string_view(",\n"));
}

void append_track_names(Buffer& out, int tid, std::string_view name, int sort_index) {
  next_event(out);
  fmt::format_to(std::back_inserter(out),
                 R"({{"ph":"M","pid":{},"tid":{},"name":"thread_name","args":{{"name":)", kPid,
                 tid);
  append_json_string(out, name);
  out.append(std::string_view("}}"));
  next_event(out);
  fmt::format_to(std::back_inserter(out),
                 R"({{"ph":"M","pid":{},"tid":{},"name":"thread_sort_index",)"
                 R"("args":{{"sort_index":{}}}}})",
                 kPid, tid, sort_index);
}

struct Span {
  int64_t start = 0, end = 0;  // steady-clock ns
  bool reached() const { return start != 0 && end != 0; }
  int64_t mid() const { return start + (end > start ? (end - start) / 2 : 0); }
};

class EventFormatter {
 public:
  EventFormatter(Buffer& out, int64_t run_start_ns) : out_(out), run_start_(run_start_ns) {}

  // Opens an "X" event; the caller appends the args' members and calls end_slice().
  void begin_slice(int tid, Span span) {
    next_event(out_);
    fmt::format_to(std::back_inserter(out_), R"({{"ph":"X","pid":{},"tid":{},"ts":)", kPid, tid);
    append_us(out_, span.start - run_start_);
    out_.append(std::string_view(R"(,"dur":)"));
    append_us(out_, span.end > span.start ? span.end - span.start : 0);
    out_.append(std::string_view(R"(,"cat":"stage","name":")"));
  }
  // Between begin_slice and args: the name, which we format ourselves (never needs escaping).
  template <typename... Args>
  void name_and_args(fmt::format_string<Args...> name, Args&&... args) {
    fmt::format_to(std::back_inserter(out_), name, std::forward<Args>(args)...);
    out_.append(std::string_view(R"(","args":{)"));
  }
  void end_slice() { out_.append(std::string_view("}}")); }

  // ph is 's' (first stage), 't' (a middle one) or 'f' (last). Binding to the enclosing slice
  // ("bp":"e") needs a timestamp inside that slice: its middle.
  void flow(char ph, uint64_t id, int tid, Span span) {
    next_event(out_);
    fmt::format_to(std::back_inserter(out_),
                   R"({{"ph":"{}","id":{},"pid":{},"tid":{},"cat":"frame","name":"frame",)"
                   R"("bp":"e","ts":)",
                   ph, id, kPid, tid);
    append_us(out_, span.mid() - run_start_);
    out_.push_back('}');
  }

 private:
  Buffer& out_;
  int64_t run_start_;
};

}  // namespace

Result<std::unique_ptr<TraceWriter>> TraceWriter::open(const std::string& path,
                                                       int64_t run_start_ns, int num_streams) {
  SI_RETURN_IF_ERROR(create_parent_directories(path, "trace"));
  std::unique_ptr<TraceWriter> writer(new TraceWriter());
  writer->path_ = path;
  writer->run_start_ns_ = run_start_ns;
  writer->metadata_.emplace_back("streams", std::to_string(num_streams));
  errno = 0;
  writer->out_.open(path, std::ios::out | std::ios::trunc | std::ios::binary);
  if (!writer->out_.is_open()) {
    const int err = errno;
    return Status::error(fmt::format("cannot open trace file '{}' for writing: {}", path,
                                     err != 0 ? std::strerror(err) : "unknown error"));
  }
  writer->out_ << "{\"traceEvents\":[\n";

  Buffer events;
  next_event(events);
  fmt::format_to(std::back_inserter(events),
                 R"({{"ph":"M","pid":{},"name":"process_name","args":{{"name":"streaminfer"}}}})",
                 kPid);
  // Sort indices follow the data flow, top to bottom.
  int sort = 0;
  for (int s = 0; s < num_streams; ++s) {
    append_track_names(events, decode_tid(s), fmt::format("decode stream {}", s), sort++);
  }
  append_track_names(events, kBatcherTid, "batcher", sort++);
  append_track_names(events, kPreprocessTid, "preprocess", sort++);
  append_track_names(events, kInferenceTid, "inference", sort++);
  append_track_names(events, kPostprocessTid, "postprocess", sort++);
  append_track_names(events, kSinksTid, "sinks", sort++);
  writer->write_events(std::string_view(events.data(), events.size()));
  return writer;
}

TraceWriter::~TraceWriter() { close(); }

void TraceWriter::add_batch(const BatchTimeline& b) {
  Buffer out;
  EventFormatter ev(out, run_start_ns_);
  const int size = static_cast<int>(b.frames.size());
  const Span read{b.read_start, b.read_end}, infer{b.infer_start, b.infer_end},
      post{b.post_start, b.post_end};

  if (read.reached()) {
    ev.begin_slice(kBatcherTid, read);
    ev.name_and_args("batch {}", b.step);
    fmt::format_to(std::back_inserter(out), R"("step":{},"batch_size":{})", b.step, size);
    ev.end_slice();
  }
  for (const FrameTimeline& f : b.frames) {
    const Span decode{f.t.decode_start, f.t.decode_end}, prep{f.t.prep_start, f.t.prep_end};
    if (decode.reached()) {
      ev.begin_slice(decode_tid(f.stream_id), decode);
      ev.name_and_args("decode");
      fmt::format_to(std::back_inserter(out), R"("stream":{},"frame":{})", f.stream_id,
                     f.frame_index);
      ev.end_slice();
    }
    if (prep.reached()) {
      ev.begin_slice(kPreprocessTid, prep);
      ev.name_and_args("letterbox {}/{}", f.stream_id, f.frame_index);
      fmt::format_to(std::back_inserter(out), R"("stream":{},"frame":{},"step":{},"batch_size":{})",
                     f.stream_id, f.frame_index, b.step, size);
      ev.end_slice();
    }
    // The frame's path through the stages it reached, each point inside that stage's slice.
    std::pair<int, Span> points[4];
    int n = 0;
    if (decode.reached()) points[n++] = {decode_tid(f.stream_id), decode};
    if (prep.reached()) points[n++] = {kPreprocessTid, prep};
    if (infer.reached()) points[n++] = {kInferenceTid, infer};
    if (post.reached()) points[n++] = {kPostprocessTid, post};
    if (n >= 2) {
      const uint64_t id = next_flow_id_.fetch_add(1, std::memory_order_relaxed);
      for (int i = 0; i < n; ++i) {
        const char ph = i == 0 ? 's' : (i == n - 1 ? 'f' : 't');
        ev.flow(ph, id, points[i].first, points[i].second);
      }
    }
  }
  if (infer.reached() && b.train) {
    // Retrain mode: the step's three stages, one after the other from the forward's start.
    const TrainStepRecord& t = *b.train;
    const std::pair<const char*, double> parts[] = {
        {"forward", t.forward_ms}, {"backward", t.backward_ms}, {"optimizer", t.optimizer_ms}};
    int64_t start = t.start_ns;
    for (const auto& [name, ms] : parts) {
      const Span span{start, start + static_cast<int64_t>(ms * 1e6)};
      start = span.end;
      ev.begin_slice(kInferenceTid, span);
      ev.name_and_args("{} batch {} (size {})", name, b.step, size);
      // JSON has no NaN: a diverged loss is written as null.
      fmt::format_to(std::back_inserter(out), R"("step":{},"batch_size":{},"loss":{})", b.step,
                     size, std::isfinite(t.loss) ? fmt::format("{}", t.loss) : "null");
      ev.end_slice();
    }
  } else if (infer.reached()) {
    ev.begin_slice(kInferenceTid, infer);
    ev.name_and_args("inference batch {} (size {})", b.step, size);
    fmt::format_to(std::back_inserter(out), R"("step":{},"batch_size":{})", b.step, size);
    ev.end_slice();
  }
  if (post.reached()) {
    int detections = 0;
    for (const FrameTimeline& f : b.frames) detections += f.num_detections;
    ev.begin_slice(kPostprocessTid, post);
    ev.name_and_args("postprocess batch {}", b.step);
    fmt::format_to(std::back_inserter(out), R"("step":{},"batch_size":{},"detections":{})", b.step,
                   size, detections);
    ev.end_slice();
  }
  const Span sink{b.sink_start, b.sink_end};
  if (sink.reached()) {
    ev.begin_slice(kSinksTid, sink);
    ev.name_and_args("write batch {}", b.step);
    fmt::format_to(std::back_inserter(out), R"("step":{},"batch_size":{})", b.step, size);
    ev.end_slice();
  }
  write_events(std::string_view(out.data(), out.size()));
}

void TraceWriter::add_counter(const std::string& name, int64_t ts_ns,
                              const std::vector<std::pair<std::string, double>>& series) {
  Buffer out;
  fmt::format_to(std::back_inserter(out), R"({{"ph":"C","pid":{},"name":)", kPid);
  append_json_string(out, name);
  out.append(std::string_view(R"(,"ts":)"));
  append_us(out, ts_ns - run_start_ns_);
  out.append(std::string_view(R"(,"args":{)"));
  bool first = true;
  for (const auto& [key, value] : series) {
    if (!std::isfinite(value)) continue;  // NaN and inf are not JSON
    if (!first) out.push_back(',');
    first = false;
    append_json_string(out, key);
    fmt::format_to(std::back_inserter(out), ":{}", value);
  }
  out.append(std::string_view("}}"));
  write_events(std::string_view(out.data(), out.size()));
}

void TraceWriter::add_metadata(const std::string& key, const std::string& value) {
  std::lock_guard lock(mutex_);
  for (auto& [k, v] : metadata_) {
    if (k == key) {
      v = value;
      return;
    }
  }
  metadata_.emplace_back(key, value);
}

void TraceWriter::write_events(std::string_view events) {
  if (events.empty()) return;
  std::lock_guard lock(mutex_);
  if (closed_) return;
  if (any_event_) out_.write(",\n", 2);
  out_.write(events.data(), static_cast<std::streamsize>(events.size()));
  any_event_ = true;
}

Status TraceWriter::close() {
  std::lock_guard lock(mutex_);
  if (closed_) return Status::ok();
  closed_ = true;
  Buffer tail;
  tail.append(std::string_view("\n],\n\"displayTimeUnit\":\"ms\",\n\"metadata\":{"));
  for (const auto& [key, value] : metadata_) {
    if (&key != &metadata_.front().first) tail.push_back(',');
    append_json_string(tail, key);
    tail.push_back(':');
    append_json_string(tail, value);
  }
  tail.append(std::string_view("}}\n"));
  out_.write(tail.data(), static_cast<std::streamsize>(tail.size()));
  out_.flush();
  const bool failed = !out_.good();
  out_.close();
  if (failed || out_.fail()) {
    return Status::error(
        fmt::format("failed writing trace file '{}' (disk full or file removed?)", path_));
  }
  return Status::ok();
}

}  // namespace streaminfer
