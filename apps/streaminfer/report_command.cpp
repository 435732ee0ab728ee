#include "report_command.h"

#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <filesystem>

#include "commands.h"
#include "common/path_guard.h"
#include "report/html_report.h"
#include "report/report_data.h"

namespace streaminfer::app {
namespace {

std::string local_time(std::chrono::system_clock::time_point when) {
  const std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  localtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S", &tm);
  return text;
}

}  // namespace

int report_command(const std::string& dir, const std::string& output, int64_t pid) {
  namespace fs = std::filesystem;
  auto data = load_report_data(fs::path(dir), pid);
  if (!data) {
    print_error(data.status().message());
    return 2;
  }
  // A run stopped while writing leaves cut-off lines: the report is made from the rest, and
  // says what it left out.
  for (const auto& warning : data->warnings) {
    fmt::print(stderr, "streaminfer: warning: {}\n", warning);
  }
  // The run's date: when its metrics CSV was last written.
  std::error_code ec;
  const auto written = fs::last_write_time(data->files.metrics, ec);
  const std::string run_date =
      ec ? std::string("unknown date")
         : local_time(std::chrono::time_point_cast<std::chrono::system_clock::duration>(
               std::chrono::file_clock::to_sys(written)));
  const std::string path = output.empty() ? (fs::path(dir) / "report.html").string() : output;
  // The page must not replace what it is made from (-o naming one of the run's files).
  PathPlan plan;
  for (const fs::path& file :
       {data->files.metrics, data->files.frames, data->files.queues, data->files.summary}) {
    plan.input("report's input", file.string());
  }
  plan.output("report -o", path);
  if (Status paths = plan.check(); !paths) {
    print_error(paths.message());
    return 2;
  }
  const auto page = report_page_data(*data, run_date, local_time(std::chrono::system_clock::now()));
  const Status written_ok = write_html_report(path, render_html_report(page));
  if (!written_ok) {
    print_error(written_ok.message());
    return 1;
  }
  fmt::print("streaminfer: report of {} (pid {}, {} batches, {} frames) written to {}\n",
             data->files.model, data->files.pid, data->batches.size(), data->frames.size(), path);
  return 0;
}

}  // namespace streaminfer::app
