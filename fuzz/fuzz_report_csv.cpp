// The CSV loaders of `streaminfer report` (metrics, frames, queues), each on the input as a file,
// then the frames-per-second series the page draws from the frames. What they accept must be what
// the page relies on, and every message (errors, the skipped-lines warning) one line.
#include <cmath>
#include <cstdint>

#include "fuzz_support.h"
#include "report/report_data.h"

using streaminfer::fuzz::check;

namespace {

void check_one_line(const std::string& message) {
  check(message.find('\n') == std::string::npos && message.find('\r') == std::string::npos,
        "messages are one line", message);
}

// Rows kept or skipped: a skipped line is counted once, after the header.
template <typename T>
void check_loaded(const std::string& path, streaminfer::Result<streaminfer::CsvRows<T>>& r) {
  if (!r) {
    check_one_line(r.status().message());
    return;
  }
  const streaminfer::SkippedLines& skipped = r->skipped;
  check(skipped.count == 0 || skipped.first_line >= 2, "skipped lines come after the header");
  check_one_line(streaminfer::skipped_lines_warning(path, skipped));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static streaminfer::fuzz::InputFile file;
  const std::string& path = file.write(data, size);

  auto batches = streaminfer::load_metrics_csv(path);
  check_loaded(path, batches);
  if (batches) {
    for (const auto& b : batches->rows) {
      check(std::isfinite(b.total_ms) && std::isfinite(b.start_ms) && b.batch_size >= 0,
            "batch row values");
      for (int id : b.streams) check(id >= 0, "stream ids");
    }
  }

  auto queues = streaminfer::load_queues_csv(path);
  check_loaded(path, queues);

  auto frames = streaminfer::load_frames_csv(path);
  check_loaded(path, frames);
  if (frames) {
    for (const auto& f : frames->rows) {
      check(std::isfinite(f.done_ms) && std::isfinite(f.end_to_end_ms) && f.stream >= 0,
            "frame row values");
    }
    const auto fps = streaminfer::fps_per_stream(frames->rows);
    check(fps.fps.size() == fps.stream_ids.size(), "one series per stream");
    for (const auto& series : fps.fps) {
      check(series.size() == fps.seconds.size(), "one value per bin");
      for (double v : series) check(std::isfinite(v) && v >= 0, "rates are finite");
    }
  }
  return 0;
}
