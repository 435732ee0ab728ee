#pragma once
// What `streaminfer report` reads from a metrics directory written by
// `streaminfer run --metrics-dir DIR`, loaded and validated:
//   M_{model}_P_{pid}_metrics.csv  one row per batch (required)
//   F_{model}_P_{pid}_frames.csv   one row per frame (optional)
//   Q_{model}_P_{pid}_queues.csv   queue depth per stream, sampled (optional)
//   S_{model}_P_{pid}_summary.json the end-of-run summary (optional)
// Columns are found by their header name, so added columns do not break the reader. A run killed
// while writing (SIGKILL, power loss) leaves a cut-off last line or summary: rows that cannot be
// read are skipped and counted, and the report is made from the rest with one warning per file.
// Errors (a file that cannot be opened, a header without the needed columns) are one line naming
// the file.
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "streaminfer/status.h"

namespace streaminfer {

struct BatchRow {
  int64_t step = 0;
  double read_ms = 0;
  double prep_ms = 0;
  double exec_ms = 0;
  double post_ms = 0;
  double total_ms = 0;
  int batch_size = 0;
  std::optional<double> loss;  // empty in inference mode
  double start_ms = 0;         // since run start
  std::vector<int> streams;    // stream id of each frame in the batch
};

// Per-frame stage times; NaN where the writer left a cell empty (a stage the frame skipped).
struct FrameRow {
  static constexpr double kNone = std::numeric_limits<double>::quiet_NaN();
  int stream = 0;
  int64_t frame = 0;
  int64_t step = -1;
  int batch_size = 0;
  double decode_ms = kNone;
  double queue_wait_ms = kNone;
  double batch_wait_ms = kNone;
  double preprocess_ms = kNone;
  double inference_wait_ms = kNone;
  double exec_ms = kNone;
  double post_ms = kNone;
  double end_to_end_ms = 0;
  double done_ms = 0;  // since run start
  int detections = 0;
};

struct QueueSample {
  double time_ms = 0;  // since run start
  int stream = 0;
  int depth = 0;
  int64_t dropped = 0;  // cumulative
};

// The lines of a CSV that a loader skipped: rows with a field count unlike the header's, a cell
// that is not the column's number, or a last line without its newline (a cut-off write whose
// cells may be cut short too). The first one is described.
struct SkippedLines {
  size_t count = 0;
  size_t first_line = 0;       // 1-based line number
  std::string first_problem;   // e.g. "3 of 15 fields"
  bool first_is_last = false;  // the first skipped line is the file's last one
};

// What a CSV loader read: the rows it could, and what it skipped.
template <typename T>
struct CsvRows {
  std::vector<T> rows;
  SkippedLines skipped;
};

// The files of one run (one model and pid). Optional ones are empty paths when absent.
struct RunFiles {
  std::string model;
  int64_t pid = 0;
  std::filesystem::path metrics;
  std::filesystem::path frames;
  std::filesystem::path queues;
  std::filesystem::path summary;
};

struct ReportData {
  RunFiles files;
  std::vector<BatchRow> batches;
  std::vector<FrameRow> frames;
  std::vector<QueueSample> queues;
  nlohmann::json summary;  // null when there is no summary file, or an unreadable one
  // One line per file read in part (skipped rows) or left out (an unreadable summary), for the
  // command to print as warnings.
  std::vector<std::string> warnings;
};

// Picks the run in `dir`: the one with the given pid (0: the newest metrics CSV, by modification
// time, then by pid), and the F/Q/S files of the same model and pid. Messages quote `dir` as
// given.
Result<RunFiles> find_run_files(const std::filesystem::path& dir, int64_t pid = 0);

// Errors only for a file that cannot be opened or has no header with the needed columns; rows
// that cannot be read are skipped (CsvRows::skipped).
Result<CsvRows<BatchRow>> load_metrics_csv(const std::filesystem::path& path);
Result<CsvRows<FrameRow>> load_frames_csv(const std::filesystem::path& path);
Result<CsvRows<QueueSample>> load_queues_csv(const std::filesystem::path& path);
// An error for a file that cannot be opened, is not valid JSON or is not a JSON object.
Result<nlohmann::json> load_summary_json(const std::filesystem::path& path);

// The warning for a CSV whose loader skipped lines, e.g. "report: 'DIR/F_..._frames.csv':
// skipped 1 unreadable line (line 801: 3 of 15 fields; a run stopped while writing leaves such a
// line)"; empty when nothing was skipped.
std::string skipped_lines_warning(const std::filesystem::path& path, const SkippedLines& skipped);

// find_run_files, then every file it found. Errors: those of find_run_files and of the metrics
// CSV's loader, and a metrics CSV without one readable row. Skipped rows of any CSV and an
// unreadable summary (left out) are `warnings`.
Result<ReportData> load_report_data(const std::filesystem::path& dir, int64_t pid = 0);

// Frames completed per second of the run, per stream: bin k counts frames with done_ms in
// [1000 k w, 1000 (k + 1) w), w = 1 s, or the whole seconds that keep all streams' series under
// kMaxFpsValues values (a run of weeks, or a damaged file's huge done_ms), as a rate. A last bin
// shorter than half a bin is left out; a longer one is scaled to a rate. Frames whose done_ms is
// not finite are left out. Streams in ascending id order.
constexpr double kMaxFpsValues = 2'000'000;
struct FpsSeries {
  std::vector<double> seconds;  // bin starts
  std::vector<int> stream_ids;
  std::vector<std::vector<double>> fps;  // [stream index][bin]
};
FpsSeries fps_per_stream(const std::vector<FrameRow>& frames);

}  // namespace streaminfer
