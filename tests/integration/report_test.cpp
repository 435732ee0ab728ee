// `streaminfer report` end to end: the HTML page from the fixture metrics directory
// (tests/data/report), its error messages, and the page rendered by headless Chromium.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "run_command.h"

namespace streaminfer::test {
namespace {

namespace fs = std::filesystem;

const fs::path kFixtures = fs::path(STREAMINFER_TEST_DATA) / "report";
constexpr int kCharts = 6;  // latency over time, 2 CDFs, FPS, queue depth, dropped

CommandResult report(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {streaminfer_bin(), "report"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, std::chrono::seconds(60));
}

TEST(Report, WritesOneSelfContainedPage) {
  TempDir dir("streaminfer_report");
  const fs::path html = dir / "sub" / "report.html";
  const auto result = report({kFixtures.string(), "-o", html.string()});
  ASSERT_EQ(result.exit_code, 0) << result.describe();
  EXPECT_NE(result.out.find(html.string()), std::string::npos) << result.describe();
  const std::string page = read_file(html);
  EXPECT_GT(page.size(), 50'000u);  // uPlot inlined
  for (const char* forbidden : {"http://", "https://", "<script src", "<link", "@import"}) {
    EXPECT_EQ(page.find(forbidden), std::string::npos) << forbidden;
  }
  EXPECT_NE(page.find("<title>streaminfer report: yolov8n ("), std::string::npos);
  EXPECT_NE(page.find("id=\"report-data\""), std::string::npos);
}

TEST(Report, DefaultOutputGoesIntoTheDirectory) {
  TempDir dir("streaminfer_report");
  for (const auto& entry : fs::directory_iterator(kFixtures)) {
    if (entry.path().extension() != ".py")
      fs::copy_file(entry.path(), dir / entry.path().filename().string());
  }
  const auto result = report({dir.path().string(), "--pid", "4242"});
  ASSERT_EQ(result.exit_code, 0) << result.describe();
  EXPECT_TRUE(fs::exists(dir / "report.html"));
}

TEST(Report, MissingDirectoryIsAnError) {
  TempDir dir("streaminfer_report");
  const std::string missing = (dir / "out").string() + "/";
  const auto result = report({missing, "-o", (dir / "r.html").string()});
  EXPECT_EQ(result.exit_code, 2) << result.describe();
  EXPECT_EQ(check_error_line(result, {"report: '" + missing + "' not found"}), "");
  EXPECT_FALSE(fs::exists(dir / "r.html"));
}

TEST(Report, DirectoryWithoutMetricsSaysHowToMakeThem) {
  TempDir dir("streaminfer_report");
  const auto result = report({dir.path().string()});
  EXPECT_EQ(result.exit_code, 2) << result.describe();
  EXPECT_EQ(check_error_line(result, {dir.path().string(), "streaminfer run --metrics-dir"}), "");
}

// A run killed while writing leaves a cut-off last line: the report is made from the other rows,
// with one warning line naming the file and the line.
TEST(Report, CutOffRowIsSkippedWithAWarning) {
  TempDir dir("streaminfer_report");
  const std::string name = "M_yolov8n_P_9_metrics.csv";
  write_file(dir / name,
             "step,read_latency_ms,prep_latency_ms,exec_latency_ms,post_latency_ms,"
             "total_step_latency_ms,batch_size,loss,start_ms,streams\n"
             "0,1,2,3,4,10,1,,0,0\n"
             "1,1,2,3,4");
  const auto result = report({dir.path().string()});
  EXPECT_EQ(result.exit_code, 0) << result.describe();
  EXPECT_TRUE(fs::exists(dir / "report.html"));
  EXPECT_NE(result.err.find("streaminfer: warning: report: '" + (dir / name).string() +
                            "': skipped 1 unreadable line (line 3: 5 of 10 fields; a run stopped "
                            "while writing leaves such a line)\n"),
            std::string::npos)
      << result.describe();
}

TEST(Report, MetricsWithoutReadableRowsNamesFileAndLine) {
  TempDir dir("streaminfer_report");
  const std::string name = "M_yolov8n_P_9_metrics.csv";
  write_file(dir / name,
             "step,read_latency_ms,prep_latency_ms,exec_latency_ms,post_latency_ms,"
             "total_step_latency_ms,batch_size,loss,start_ms,streams\n"
             "1,1,2,3,4\n");
  const auto result = report({dir.path().string()});
  EXPECT_EQ(result.exit_code, 2) << result.describe();
  EXPECT_EQ(check_error_line(result, {name, "line 2"}), "");
}

int count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(Report, ChromiumDrawsEveryChart) {
  if (!fs::exists(kChromium)) {
    GTEST_SKIP() << kChromium << " is not installed (apt-get install chromium)";
  }
  TempDir dir("streaminfer_report");
  const fs::path html = dir / "report.html";
  const auto made = report({kFixtures.string(), "-o", html.string()});
  ASSERT_EQ(made.exit_code, 0) << made.describe();

  // The page's script marks itself ready once every chart is drawn.
  TempDir profile("streaminfer_chromium");
  const auto dom = chromium(profile, {"--dump-dom", "file://" + html.string()});
  ASSERT_EQ(dom.exit_code, 0) << dom.describe();
  const ChartsReady ready = charts_ready(dom.out);
  ASSERT_TRUE(ready.found) << dom.out.substr(0, 2000);
  EXPECT_EQ(ready.charts, kCharts);
  EXPECT_EQ(ready.inked, kCharts) << "charts whose canvas stayed empty";
  EXPECT_NE(dom.out.find("<title>charts-ready:" + std::to_string(kCharts)), std::string::npos);
  EXPECT_GE(count(dom.out, "<canvas"), kCharts);
  EXPECT_NE(dom.out.find("Bottleneck: inference"), std::string::npos);

  // The screenshot of the report holds far more than one of an empty page taken the same way.
  const fs::path shot = dir / "report.png";
  const fs::path blank_html = dir / "blank.html";
  const fs::path blank_shot = dir / "blank.png";
  write_file(blank_html,
             "<!DOCTYPE html><html><head><title>blank</title></head><body></body></html>\n");
  TempDir profile2("streaminfer_chromium");
  const auto taken =
      chromium(profile2, {"--screenshot=" + shot.string(), "file://" + html.string()});
  ASSERT_EQ(taken.exit_code, 0) << taken.describe();
  TempDir profile3("streaminfer_chromium");
  const auto blank =
      chromium(profile3, {"--screenshot=" + blank_shot.string(), "file://" + blank_html.string()});
  ASSERT_EQ(blank.exit_code, 0) << blank.describe();
  ASSERT_TRUE(fs::exists(shot));
  ASSERT_TRUE(fs::exists(blank_shot));
  const auto report_bytes = fs::file_size(shot);
  const auto blank_bytes = fs::file_size(blank_shot);
  EXPECT_GT(report_bytes, 100'000u);
  EXPECT_GT(report_bytes, 10 * blank_bytes) << report_bytes << " vs " << blank_bytes;
  // To look at it: STREAMINFER_REPORT_SCREENSHOT=/tmp/report.png.
  if (const char* keep = std::getenv("STREAMINFER_REPORT_SCREENSHOT"))
    fs::copy_file(shot, keep, fs::copy_options::overwrite_existing);
}

TEST(Report, ShowsTheAccuracyBlockOfTheSummary) {
  if (!fs::exists(kChromium)) {
    GTEST_SKIP() << kChromium << " is not installed (apt-get install chromium)";
  }
  // The fixtures with an accuracy block as `run` writes it for a synthetic stream with drops.
  TempDir dir("streaminfer_report");
  for (const auto& entry : fs::directory_iterator(kFixtures)) {
    if (entry.path().extension() != ".py")
      fs::copy_file(entry.path(), dir / entry.path().filename().string());
  }
  const fs::path summary_path = dir / "S_yolov8n_P_4242_summary.json";
  nlohmann::json summary = nlohmann::json::parse(read_file(summary_path));
  const nlohmann::json entry = {
      {"map50", 0.8125},
      {"map50_95", 0.5625},
      {"images", 480},
      {"ground_truths", 2880},
      {"detections", 2701},
      {"classes", {{{"id", 2}, {"name", "triangle"}, {"ap50", 0.71875}, {"ap50_95", 0.5}}}},
      {"with_dropped",
       {{"dropped_frames", 139}, {"map50", 0.6875}, {"map50_95", 0.4375}, {"images", 620}}}};
  nlohmann::json stream = entry;
  stream["id"] = 3;
  summary["accuracy"] = {{"score_threshold", 0.25}, {"overall", entry}, {"streams", {stream}}};
  write_file(summary_path, summary.dump());
  const fs::path html = dir / "report.html";
  const auto made = report({dir.path().string(), "-o", html.string()});
  ASSERT_EQ(made.exit_code, 0) << made.describe();

  TempDir profile("streaminfer_chromium");
  const auto dom = chromium(profile, {"--dump-dom", "file://" + html.string()});
  ASSERT_EQ(dom.exit_code, 0) << dom.describe();
  ASSERT_TRUE(charts_ready(dom.out).found) << dom.out.substr(0, 2000);
  EXPECT_NE(dom.out.find("<h2>Accuracy</h2>"), std::string::npos);
  EXPECT_NE(dom.out.find("--conf 0.25"), std::string::npos);
  for (const char* cell : {"0.813", "0.563", "139", "0.688", "0.438", "0.719"}) {
    EXPECT_NE(dom.out.find(std::string("<td>") + cell + "</td>"), std::string::npos) << cell;
  }
  EXPECT_NE(dom.out.find(">triangle</td>"), std::string::npos);
}

}  // namespace
}  // namespace streaminfer::test
