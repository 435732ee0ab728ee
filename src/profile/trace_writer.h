#pragma once
// Chrome trace / Perfetto timeline of a run, in the Trace Event Format:
//   {"traceEvents":[...], "displayTimeUnit":"ms", "metadata":{...}}
// Open it in https://ui.perfetto.dev or chrome://tracing. One process ("streaminfer"), one track
// per pipeline thread: "decode stream N" for each stream, then "batcher", "preprocess",
// "inference", "postprocess", "sinks". Each frame's slices are linked by flow arrows
// decode -> letterbox -> inference -> postprocess.
//
// Events are streamed to the file as they arrive (memory stays bounded however long the run);
// the file is valid JSON only after close(), which the destructor calls if the owner did not.
// Thread-safe: add_batch (postprocess thread) and add_counter (a monitor) may run concurrently.
#include <atomic>
#include <cstdint>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "profile/timeline.h"
#include "streaminfer/status.h"

namespace streaminfer {

class TraceWriter {
 public:
  // Creates the parent directory if needed and writes the track names. Timestamps in the file
  // are microseconds since run_start_ns (steady clock).
  static Result<std::unique_ptr<TraceWriter>> open(const std::string& path, int64_t run_start_ns,
                                                   int num_streams);
  ~TraceWriter();
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;

  // Slices of a completed batch and of each of its frames, with the frames' flow arrows. Stages
  // a frame did not reach (timestamp 0) are left out.
  void add_batch(const BatchTimeline& batch);
  // A counter sample ("C" event), e.g. add_counter("queue depth", now_ns(), {{"stream 0", 3}}).
  void add_counter(const std::string& name, int64_t ts_ns,
                   const std::vector<std::pair<std::string, double>>& series);
  // A "metadata" entry (model, device, batch size, ...); written at close(), later keys win.
  void add_metadata(const std::string& key, const std::string& value);
  // Ends the JSON document; reports write errors (disk full, file removed). Idempotent.
  Status close();

  const std::string& path() const { return path_; }

  // Track ids, fixed whatever the number of streams so that traces of runs compare.
  static constexpr int kBatcherTid = 1;
  static constexpr int kPreprocessTid = 2;
  static constexpr int kInferenceTid = 3;
  static constexpr int kPostprocessTid = 4;
  static constexpr int kSinksTid = 5;
  static int decode_tid(int stream_id) { return 100 + stream_id; }

 private:
  TraceWriter() = default;
  void write_events(std::string_view events);  // comma-separated events, no leading comma

  std::string path_;
  int64_t run_start_ns_ = 0;
  std::atomic<uint64_t> next_flow_id_{1};
  std::mutex mutex_;  // guards everything below
  std::ofstream out_;
  bool any_event_ = false;
  bool closed_ = false;
  std::vector<std::pair<std::string, std::string>> metadata_;
};

}  // namespace streaminfer
