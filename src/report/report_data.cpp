#include "report/report_data.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string_view>

#include "common/text.h"

namespace streaminfer {
namespace {

namespace fs = std::filesystem;

// A bad cell or row; read_csv adds the file and line.
struct RowError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Splits one CSV line at commas; a field may be double-quoted ("" inside is a quote).
std::vector<std::string> split_csv_line(std::string_view line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  if (quoted) throw RowError("unterminated quoted field");
  return fields;
}

// The cells of the columns a loader asked for, in the order it asked.
class Row {
 public:
  Row(const std::vector<std::string>& names, std::vector<std::string> cells)
      : names_(names), cells_(std::move(cells)) {}

  bool empty(size_t i) const { return cells_[i].empty(); }

  double number(size_t i) const {
    const std::string& cell = cells_[i];
    double value = 0;
    const auto [end, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), value);
    if (cell.empty() || ec != std::errc() || end != cell.data() + cell.size() ||
        !std::isfinite(value)) {
      throw RowError(fmt::format("{} is not a number: '{}'", names_[i], excerpt(cell)));
    }
    return value;
  }
  double number_or_none(size_t i) const { return empty(i) ? FrameRow::kNone : number(i); }

  int64_t integer(size_t i) const {
    const std::string& cell = cells_[i];
    int64_t value = 0;
    const auto [end, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), value);
    if (cell.empty() || ec != std::errc() || end != cell.data() + cell.size()) {
      throw RowError(fmt::format("{} is not an integer: '{}'", names_[i], excerpt(cell)));
    }
    return value;
  }
  int small_integer(size_t i) const {
    const int64_t value = integer(i);
    if (value < 0 || value > 1'000'000'000) {
      throw RowError(fmt::format("{} is out of range: '{}'", names_[i], excerpt(cells_[i])));
    }
    return static_cast<int>(value);
  }
  const std::string& text(size_t i) const { return cells_[i]; }

 private:
  const std::vector<std::string>& names_;
  std::vector<std::string> cells_;
};

// Reads `path`: checks the header has every column of `names`, and hands the asked-for cells of
// each row with as many fields as the header to `on_row` (which throws RowError on a bad value,
// before it keeps anything). Rows that cannot be read are counted in `skipped`, not fatal: a run
// stopped while writing leaves a cut-off last line, and the rows before it are still good.
Status read_csv(const fs::path& path, const std::vector<std::string>& names,
                const std::function<void(const Row&)>& on_row, SkippedLines& skipped) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error(fmt::format("report: cannot open '{}'", path.string()));
  std::string line;
  size_t line_number = 0;
  std::vector<size_t> index;  // header position of each asked-for column
  size_t field_count = 0;
  const auto skip = [&](const std::string& problem) {
    if (skipped.count++ == 0) {
      skipped.first_line = line_number;
      skipped.first_problem = problem;
    }
  };
  while (std::getline(in, line)) {
    ++line_number;
    // getline stops at the end of the file without a newline only on a last line cut short.
    const bool terminated = !in.eof();
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line_number == 1) {
      try {
        const auto header = split_csv_line(line);
        field_count = header.size();
        for (const auto& name : names) {
          const auto it = std::find(header.begin(), header.end(), name);
          if (it == header.end()) {
            throw RowError(
                fmt::format("header has no column '{}' (header: '{}')", name, excerpt(line, 200)));
          }
          index.push_back(static_cast<size_t>(it - header.begin()));
        }
      } catch (const RowError& e) {
        return Status::error(fmt::format("report: {} line 1: {}", path.string(), e.what()));
      }
      continue;
    }
    if (line.empty()) continue;
    try {
      auto fields = split_csv_line(line);
      if (fields.size() != field_count) {
        throw RowError(fmt::format("{} of {} fields", fields.size(), field_count));
      }
      if (!terminated) throw RowError("no newline at its end");
      std::vector<std::string> cells;
      cells.reserve(index.size());
      for (size_t i : index) cells.push_back(std::move(fields[i]));
      on_row(Row(names, std::move(cells)));
    } catch (const RowError& e) {
      skip(e.what());
    }
  }
  if (line_number == 0) {
    return Status::error(fmt::format("report: {} is empty (no header line)", path.string()));
  }
  skipped.first_is_last = skipped.count > 0 && skipped.first_line == line_number;
  return Status::ok();
}

// "line 801: 3 of 15 fields; a run stopped while writing leaves such a line"
std::string describe_skipped(const SkippedLines& skipped) {
  return fmt::format(
      "{}line {}: {}{}", skipped.count > 1 ? "first at " : "", skipped.first_line,
      skipped.first_problem,
      skipped.first_is_last ? "; a run stopped while writing leaves such a line" : "");
}

std::vector<int> parse_stream_list(const std::string& text) {
  std::vector<int> ids;
  if (text.empty()) return ids;
  size_t begin = 0;
  while (true) {
    const size_t end = std::min(text.find(';', begin), text.size());
    int id = 0;
    const char* first = text.data() + begin;
    const char* last = text.data() + end;
    const auto [ptr, ec] = std::from_chars(first, last, id);
    if (first == last || ec != std::errc() || ptr != last || id < 0) {
      throw RowError(
          fmt::format("streams is not a ';'-separated list of ids: '{}'", excerpt(text)));
    }
    ids.push_back(id);
    if (end == text.size()) break;
    begin = end + 1;
  }
  return ids;
}

struct Candidate {
  std::string model;
  int64_t pid = 0;
  fs::file_time_type mtime;
  fs::path path;
};

// "M_{model}_P_{pid}_metrics.csv" -> (model, pid). The model name may itself hold "_P_", so
// the pid is taken from the last one. (Plain parsing: GCC 12's <regex> trips
// -Wmaybe-uninitialized under the sanitizer build.)
std::optional<std::pair<std::string, int64_t>> parse_metrics_name(std::string_view name) {
  constexpr std::string_view kPrefix = "M_", kSuffix = "_metrics.csv", kPid = "_P_";
  if (!name.starts_with(kPrefix) || !name.ends_with(kSuffix)) return std::nullopt;
  name = name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size());
  const auto at = name.rfind(kPid);
  if (at == std::string_view::npos || at == 0) return std::nullopt;
  const std::string_view digits = name.substr(at + kPid.size());
  int64_t pid = 0;
  const auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
  if (digits.empty() || err != std::errc() || end != digits.data() + digits.size()) {
    return std::nullopt;
  }
  return std::pair{std::string(name.substr(0, at)), pid};
}

}  // namespace

Result<RunFiles> find_run_files(const fs::path& dir, int64_t pid) {
  std::error_code ec;
  if (!fs::exists(dir, ec))
    return Status::error(fmt::format("report: '{}' not found", dir.string()));
  if (!fs::is_directory(dir, ec)) {
    return Status::error(fmt::format("report: '{}' is not a directory", dir.string()));
  }
  std::vector<Candidate> runs;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file(ec)) continue;
    const auto parsed = parse_metrics_name(entry.path().filename().string());
    if (!parsed) continue;
    runs.push_back({parsed->first, parsed->second, entry.last_write_time(ec), entry.path()});
  }
  if (runs.empty()) {
    return Status::error(fmt::format(
        "report: no metrics CSV (M_<model>_P_<pid>_metrics.csv) in '{}'; write one with "
        "streaminfer run --metrics-dir {}",
        dir.string(), dir.string()));
  }
  std::sort(runs.begin(), runs.end(), [](const Candidate& a, const Candidate& b) {
    return a.mtime != b.mtime ? a.mtime > b.mtime : a.pid > b.pid;
  });
  auto chosen = runs.begin();
  if (pid != 0) {
    chosen =
        std::find_if(runs.begin(), runs.end(), [&](const Candidate& c) { return c.pid == pid; });
    if (chosen == runs.end()) {
      std::string pids;
      for (const auto& run : runs) pids += (pids.empty() ? "" : ", ") + std::to_string(run.pid);
      return Status::error(fmt::format("report: no metrics CSV of pid {} in '{}' (pids there: {})",
                                       pid, dir.string(), pids));
    }
  }
  RunFiles files;
  files.model = chosen->model;
  files.pid = chosen->pid;
  files.metrics = chosen->path;
  const auto sibling = [&](const char* prefix, const char* suffix) {
    fs::path path = dir / fmt::format("{}_{}_P_{}_{}", prefix, files.model, files.pid, suffix);
    std::error_code exists_ec;
    return fs::is_regular_file(path, exists_ec) ? path : fs::path();
  };
  files.frames = sibling("F", "frames.csv");
  files.queues = sibling("Q", "queues.csv");
  files.summary = sibling("S", "summary.json");
  return files;
}

Result<CsvRows<BatchRow>> load_metrics_csv(const fs::path& path) {
  CsvRows<BatchRow> rows;
  const Status status = read_csv(
      path,
      {"step", "read_latency_ms", "prep_latency_ms", "exec_latency_ms", "post_latency_ms",
       "total_step_latency_ms", "batch_size", "loss", "start_ms", "streams"},
      [&](const Row& row) {
        BatchRow b;
        b.step = row.integer(0);
        b.read_ms = row.number(1);
        b.prep_ms = row.number(2);
        b.exec_ms = row.number(3);
        b.post_ms = row.number(4);
        b.total_ms = row.number(5);
        b.batch_size = row.small_integer(6);
        if (!row.empty(7)) b.loss = row.number(7);
        b.start_ms = row.number(8);
        b.streams = parse_stream_list(row.text(9));
        rows.rows.push_back(std::move(b));
      },
      rows.skipped);
  if (!status) return status;
  return rows;
}

Result<CsvRows<FrameRow>> load_frames_csv(const fs::path& path) {
  CsvRows<FrameRow> rows;
  const Status status = read_csv(
      path,
      {"stream", "frame", "step", "batch_size", "decode_ms", "queue_wait_ms", "batch_wait_ms",
       "preprocess_ms", "inference_wait_ms", "exec_ms", "post_ms", "end_to_end_ms", "done_ms",
       "detections"},
      [&](const Row& row) {
        FrameRow f;
        f.stream = row.small_integer(0);
        f.frame = row.integer(1);
        f.step = row.empty(2) ? -1 : row.integer(2);
        f.batch_size = row.empty(3) ? 0 : row.small_integer(3);
        f.decode_ms = row.number_or_none(4);
        f.queue_wait_ms = row.number_or_none(5);
        f.batch_wait_ms = row.number_or_none(6);
        f.preprocess_ms = row.number_or_none(7);
        f.inference_wait_ms = row.number_or_none(8);
        f.exec_ms = row.number_or_none(9);
        f.post_ms = row.number_or_none(10);
        f.end_to_end_ms = row.number(11);
        f.done_ms = row.number(12);
        f.detections = row.empty(13) ? 0 : row.small_integer(13);
        rows.rows.push_back(f);
      },
      rows.skipped);
  if (!status) return status;
  return rows;
}

Result<CsvRows<QueueSample>> load_queues_csv(const fs::path& path) {
  CsvRows<QueueSample> rows;
  const Status status = read_csv(
      path, {"time_ms", "stream", "depth", "dropped"},
      [&](const Row& row) {
        rows.rows.push_back({row.number(0), row.small_integer(1), row.small_integer(2),
                             row.empty(3) ? 0 : row.integer(3)});
      },
      rows.skipped);
  if (!status) return status;
  return rows;
}

Result<nlohmann::json> load_summary_json(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error(fmt::format("report: cannot open '{}'", path.string()));
  nlohmann::json summary = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (summary.is_discarded()) {
    return Status::error(fmt::format(
        "report: '{}' is not valid JSON (a run stopped while writing leaves such a file)",
        path.string()));
  }
  if (!summary.is_object()) {
    return Status::error(fmt::format("report: '{}' is not a JSON object", path.string()));
  }
  return summary;
}

std::string skipped_lines_warning(const fs::path& path, const SkippedLines& skipped) {
  if (skipped.count == 0) return "";
  return fmt::format("report: '{}': skipped {} unreadable line{} ({})", path.string(),
                     skipped.count, skipped.count == 1 ? "" : "s", describe_skipped(skipped));
}

Result<ReportData> load_report_data(const fs::path& dir, int64_t pid) {
  auto files = find_run_files(dir, pid);
  if (!files) return files.status();
  ReportData data;
  data.files = *files;
  // Each CSV's rows, with the warning for what its loader skipped.
  const auto take = [&data](auto& loaded, auto& rows, const fs::path& path) {
    rows = std::move(loaded.rows);
    std::string warning = skipped_lines_warning(path, loaded.skipped);
    if (!warning.empty()) data.warnings.push_back(std::move(warning));
  };
  auto batches = load_metrics_csv(data.files.metrics);
  if (!batches) return batches.status();
  if (batches->rows.empty()) {
    const SkippedLines& skipped = batches->skipped;
    return Status::error(
        skipped.count == 0
            ? fmt::format("report: '{}' has no batch rows (did the run finish a batch?)",
                          data.files.metrics.string())
            : fmt::format("report: '{}' has no readable batch rows ({} unreadable, {})",
                          data.files.metrics.string(), skipped.count, describe_skipped(skipped)));
  }
  take(*batches, data.batches, data.files.metrics);
  // Optional files: a bad header is still an error (nothing of the file can be read), skipped
  // rows and an unreadable summary are warnings.
  if (!data.files.frames.empty()) {
    auto frames = load_frames_csv(data.files.frames);
    if (!frames) return frames.status();
    take(*frames, data.frames, data.files.frames);
  }
  if (!data.files.queues.empty()) {
    auto queues = load_queues_csv(data.files.queues);
    if (!queues) return queues.status();
    take(*queues, data.queues, data.files.queues);
  }
  if (!data.files.summary.empty()) {
    auto summary = load_summary_json(data.files.summary);
    if (summary) {
      data.summary = std::move(*summary);
    } else {
      data.warnings.push_back(summary.status().message() + "; the report is made without it");
    }
  }
  return data;
}

FpsSeries fps_per_stream(const std::vector<FrameRow>& frames) {
  FpsSeries series;
  std::map<int, std::vector<double>> counts;
  double last_ms = 0;
  for (const auto& f : frames) {
    if (!std::isfinite(f.done_ms)) continue;
    last_ms = std::max(last_ms, f.done_ms);
    counts[f.stream];
  }
  if (counts.empty()) return series;
  // A cell of a damaged file (done_ms 1e18) would otherwise ask for more bins than memory holds.
  const double width_s = std::max(
      1.0, std::ceil(last_ms / 1000.0 / kMaxFpsValues * static_cast<double>(counts.size())));
  const double run_bins = last_ms / 1000.0 / width_s;  // at most kMaxFpsValues
  const auto full_bins = static_cast<size_t>(std::floor(run_bins));
  const double last_width = run_bins - static_cast<double>(full_bins);  // in bins
  const size_t bins = full_bins + (last_width >= 0.5 ? 1 : 0);
  for (auto& [id, c] : counts) c.assign(bins, 0.0);
  for (const auto& f : frames) {
    if (!std::isfinite(f.done_ms)) continue;
    // A frame stamped before the run's start (a damaged cell) counts in the first bin, if any.
    const double bin = std::max(0.0, std::floor(f.done_ms / 1000.0 / width_s));
    if (bin < static_cast<double>(bins)) counts[f.stream][static_cast<size_t>(bin)] += 1;
  }
  for (size_t k = 0; k < bins; ++k) series.seconds.push_back(static_cast<double>(k) * width_s);
  for (auto& [id, c] : counts) {
    for (double& count : c) count /= width_s;
    if (bins > full_bins) c[full_bins] /= last_width;
    series.stream_ids.push_back(id);
    series.fps.push_back(std::move(c));
  }
  return series;
}

}  // namespace streaminfer
