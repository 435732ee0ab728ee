// Loaders of `streaminfer report` (src/report/report_data) and the page it builds, on the fixture
// metrics directory tests/data/report (written by its make_fixtures.py).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>

#include "report/html_report.h"
#include "report/report_data.h"

namespace streaminfer {
namespace {

namespace fs = std::filesystem;

const fs::path kFixtures = fs::path(STREAMINFER_TEST_DATA) / "report";
const char* kMetrics = "M_yolov8n_P_4242_metrics.csv";

// A temporary directory, removed on destruction.
struct ScratchDir {
  fs::path path;
  ScratchDir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("report_data_test_" + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name, std::ios::binary) << text;
  }
};

constexpr const char* kHeader =
    "step,read_latency_ms,prep_latency_ms,exec_latency_ms,post_latency_ms,total_step_latency_ms,"
    "batch_size,loss,start_ms,streams\n";

TEST(ReportData, LoadsTheFixtureRun) {
  auto data = load_report_data(kFixtures);
  ASSERT_TRUE(data) << data.status().message();
  EXPECT_EQ(data->files.model, "yolov8n");
  EXPECT_EQ(data->files.pid, 4242);
  ASSERT_EQ(data->batches.size(), 200u);
  EXPECT_EQ(data->frames.size(), 800u);
  EXPECT_FALSE(data->queues.empty());
  EXPECT_EQ(data->summary.value("model", ""), "yolov8n");

  const BatchRow& first = data->batches.front();
  EXPECT_EQ(first.step, 0);
  EXPECT_EQ(first.batch_size, 4);
  EXPECT_FALSE(first.loss.has_value());
  EXPECT_EQ(first.streams, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_NEAR(first.total_ms, first.read_ms + first.prep_ms + first.exec_ms + first.post_ms, 0.01);

  // The fixture's latency step: exec ~28 ms before t = 6 s, ~46 ms after.
  double before = 0, after = 0;
  int n_before = 0, n_after = 0;
  for (const auto& b : data->batches) {
    (b.start_ms < 6000 ? before : after) += b.exec_ms;
    ++(b.start_ms < 6000 ? n_before : n_after);
  }
  ASSERT_GT(n_before, 10);
  ASSERT_GT(n_after, 10);
  EXPECT_GT(after / n_after - before / n_before, 10.0);

  for (const auto& f : data->frames) {
    EXPECT_GE(f.stream, 0);
    EXPECT_LT(f.stream, 4);
    EXPECT_GT(f.end_to_end_ms, 0);
  }
}

TEST(ReportData, MissingDirectoryIsOneLineNamingIt) {
  auto files = find_run_files("no/such/dir/");
  ASSERT_FALSE(files);
  EXPECT_EQ(files.status().message(), "report: 'no/such/dir/' not found");
}

TEST(ReportData, DirectoryWithoutMetricsSaysHowToMakeOne) {
  ScratchDir dir;
  dir.write("notes.txt", "hello\n");
  auto files = find_run_files(dir.path);
  ASSERT_FALSE(files);
  EXPECT_NE(files.status().message().find(dir.path.string()), std::string::npos);
  EXPECT_NE(files.status().message().find("streaminfer run --metrics-dir"), std::string::npos);
}

TEST(ReportData, OptionalFilesMayBeAbsent) {
  ScratchDir dir;
  fs::copy_file(kFixtures / kMetrics, dir.path / kMetrics);
  auto data = load_report_data(dir.path);
  ASSERT_TRUE(data) << data.status().message();
  EXPECT_EQ(data->batches.size(), 200u);
  EXPECT_TRUE(data->files.frames.empty());
  EXPECT_TRUE(data->frames.empty());
  EXPECT_TRUE(data->queues.empty());
  EXPECT_TRUE(data->summary.is_null());
}

TEST(ReportData, PicksTheNewestRunOrTheGivenPid) {
  ScratchDir dir;
  dir.write("M_yolov8s_P_100_metrics.csv", std::string(kHeader) + "0,1,2,3,4,10,1,,0,0\n");
  dir.write("M_my_model_P_7_metrics.csv", std::string(kHeader) + "0,1,2,3,4,10,2,0.5,0,0;1\n");
  const auto old_time = fs::file_time_type::clock::now() - std::chrono::hours(1);
  fs::last_write_time(dir.path / "M_yolov8s_P_100_metrics.csv", old_time);
  dir.write("S_my_model_P_7_summary.json", R"({"model":"my_model"})");

  auto newest = find_run_files(dir.path);
  ASSERT_TRUE(newest) << newest.status().message();
  EXPECT_EQ(newest->model, "my_model");  // underscores in the model name survive
  EXPECT_EQ(newest->pid, 7);
  EXPECT_EQ(newest->summary.filename(), "S_my_model_P_7_summary.json");
  EXPECT_TRUE(newest->frames.empty());

  auto chosen = find_run_files(dir.path, 100);
  ASSERT_TRUE(chosen) << chosen.status().message();
  EXPECT_EQ(chosen->model, "yolov8s");

  auto absent = find_run_files(dir.path, 5);
  ASSERT_FALSE(absent);
  EXPECT_NE(absent.status().message().find("pid 5"), std::string::npos);
  EXPECT_NE(absent.status().message().find("100"), std::string::npos);

  auto data = load_report_data(dir.path);
  ASSERT_TRUE(data) << data.status().message();
  ASSERT_EQ(data->batches.size(), 1u);
  EXPECT_DOUBLE_EQ(data->batches[0].loss.value_or(-1), 0.5);
  EXPECT_EQ(data->batches[0].streams, (std::vector<int>{0, 1}));
}

// Each metrics file without a readable row and what its error must name.
struct BadCsv {
  std::string body;
  std::string expected;
};

TEST(ReportData, MetricsWithoutReadableRowsIsAnErrorNamingFileAndLine) {
  const std::vector<BadCsv> cases = {
      {std::string(kHeader) + "1,1,2,3\n", "line 2: 4 of 10 fields"},
      {std::string(kHeader) + "0,1,2,abc,4,10,1,,0,0\n", "line 2: exec_latency_ms is not a number"},
      {std::string(kHeader) + "0,1,2,3,4,10,x,,0,0\n", "line 2: batch_size is not an integer"},
      {std::string(kHeader) + "0,1,2,nan,4,10,1,,0,0\n", "line 2: exec_latency_ms"},
      {std::string(kHeader) + "0,1,2,3,4,10,1,,0,0;a\n", "line 2: streams"},
      {std::string(kHeader) + "0,1,2,3,4,10,1,,0,0", "line 2: no newline at its end"},
      {std::string(kHeader), "has no batch rows"},
      {std::string(kHeader) + "\n\n", "has no batch rows"},
      {"step,read_latency_ms\n0,1\n", "line 1: header has no column 'prep_latency_ms'"},
      {"step,read_latency_ms", "line 1: header has no column 'prep_latency_ms'"},
      {"", "is empty"},
  };
  for (const auto& c : cases) {
    ScratchDir dir;
    dir.write(kMetrics, c.body);
    auto data = load_report_data(dir.path);
    ASSERT_FALSE(data) << c.body;
    const std::string message = data.status().message();
    EXPECT_NE(message.find(kMetrics), std::string::npos) << message;
    EXPECT_NE(message.find(c.expected), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

// The fixture's file `name`, with its last line cut after `keep` bytes: what a run killed while
// writing leaves.
std::string cut_last_line(const std::string& name, size_t keep) {
  std::ifstream in(kFixtures / name, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t last = text.rfind('\n', text.size() - 2) + 1;
  return text.substr(0, last + keep);
}

const char* kFrames = "F_yolov8n_P_4242_frames.csv";
const char* kQueues = "Q_yolov8n_P_4242_queues.csv";
const char* kSummary = "S_yolov8n_P_4242_summary.json";

// A copy of the fixture run in a scratch directory.
void copy_fixture_run(const ScratchDir& dir) {
  for (const char* name : {kMetrics, kFrames, kQueues, kSummary}) {
    fs::copy_file(kFixtures / name, dir.path / name);
  }
}

TEST(ReportData, CutOffLastLineOfEachCsvIsSkippedWithOneWarning) {
  ScratchDir intact;
  copy_fixture_run(intact);
  auto whole = load_report_data(intact.path);
  ASSERT_TRUE(whole) << whole.status().message();
  EXPECT_TRUE(whole->warnings.empty());
  const char* names[] = {kMetrics, kFrames, kQueues};
  const size_t whole_rows[] = {whole->batches.size(), whole->frames.size(), whole->queues.size()};
  for (int i = 0; i < 3; ++i) {
    ScratchDir dir;
    copy_fixture_run(dir);
    dir.write(names[i], cut_last_line(names[i], 5));
    auto data = load_report_data(dir.path);
    ASSERT_TRUE(data) << data.status().message();
    const size_t rows[] = {data->batches.size(), data->frames.size(), data->queues.size()};
    EXPECT_EQ(rows[i], whole_rows[i] - 1) << names[i];
    ASSERT_EQ(data->warnings.size(), 1u) << names[i];
    const std::string& warning = data->warnings[0];
    EXPECT_EQ(warning.rfind("report: '" + (dir.path / names[i]).string() +
                                "': skipped 1 unreadable line (line ",
                            0),
              0u)
        << warning;
    EXPECT_NE(warning.find(" fields; a run stopped while writing leaves such a line)"),
              std::string::npos)
        << warning;
    EXPECT_EQ(warning.find('\n'), std::string::npos) << warning;
  }
}

TEST(ReportData, CutOffLineWithEveryFieldIsSkippedToo) {
  // The last cell may be cut short ("12.5" -> "12"): a line without its newline is not trusted.
  ScratchDir dir;
  dir.write("frames.csv",
            "stream,frame,step,batch_size,decode_ms,queue_wait_ms,batch_wait_ms,preprocess_ms,"
            "inference_wait_ms,exec_ms,post_ms,end_to_end_ms,done_ms,detections\n"
            "1,5,2,4,3.5,,1,2,0,20,1,30.5,120.25,3\n"
            "1,6,2,4,3.5,,1,2,0,20,1,30.5,120.25,1");
  auto frames = load_frames_csv(dir.path / "frames.csv");
  ASSERT_TRUE(frames) << frames.status().message();
  EXPECT_EQ(frames->rows.size(), 1u);
  EXPECT_EQ(frames->skipped.count, 1u);
  EXPECT_EQ(frames->skipped.first_line, 3u);
  EXPECT_EQ(frames->skipped.first_problem, "no newline at its end");
  EXPECT_TRUE(frames->skipped.first_is_last);
}

TEST(ReportData, GarbageMiddleLinesAreSkippedAndCounted) {
  ScratchDir dir;
  copy_fixture_run(dir);
  dir.write(kQueues,
            "time_ms,stream,depth,dropped\n0,0,1,0\n100,0,-1,0\n\x01\x02garbage\n"
            "200,0,2,1\n");
  dir.write(kMetrics, std::string(kHeader) + "0,1,2,3,4,10,1,,0,0\n1,1,2,z\rz,4,10,1,,5,0\n" +
                          "2,1,2,3,4,10,1,,9,0\n");
  auto data = load_report_data(dir.path);
  ASSERT_TRUE(data) << data.status().message();
  EXPECT_EQ(data->batches.size(), 2u);
  EXPECT_EQ(data->batches[1].step, 2);
  ASSERT_EQ(data->queues.size(), 2u);
  EXPECT_EQ(data->queues[1].depth, 2);
  ASSERT_EQ(data->warnings.size(), 2u);
  EXPECT_EQ(data->warnings[0], "report: '" + (dir.path / kMetrics).string() +
                                   "': skipped 1 unreadable line (line 3: exec_latency_ms is "
                                   "not a number: 'z?z')");  // one line, whatever the file holds
  EXPECT_EQ(data->warnings[1], "report: '" + (dir.path / kQueues).string() +
                                   "': skipped 2 unreadable lines (first at line 3: depth is out "
                                   "of range: '-1')");
}

TEST(ReportData, CutOffOrInvalidSummaryIsLeftOutWithAWarning) {
  for (const std::string body : {"{\"model\": ", "[1, 2]", ""}) {
    ScratchDir dir;
    copy_fixture_run(dir);
    dir.write(kSummary, body);
    auto data = load_report_data(dir.path);
    ASSERT_TRUE(data) << data.status().message();
    EXPECT_TRUE(data->summary.is_null());
    EXPECT_EQ(data->batches.size(), 200u);
    ASSERT_EQ(data->warnings.size(), 1u) << body;
    EXPECT_EQ(data->warnings[0].rfind("report: '" + (dir.path / kSummary).string() + "' is not", 0),
              0u)
        << data->warnings[0];
    EXPECT_NE(data->warnings[0].find("; the report is made without it"), std::string::npos);
  }
}

TEST(ReportData, OptionalFileWithoutItsHeaderIsStillAnError) {
  ScratchDir dir;
  copy_fixture_run(dir);
  dir.write(kFrames, "stream,frame,step\n0,1,2\n");
  auto data = load_report_data(dir.path);
  ASSERT_FALSE(data);
  EXPECT_NE(data.status().message().find(std::string(kFrames) + " line 1: header has no column"),
            std::string::npos)
      << data.status().message();
}

TEST(ReportData, FramesCsvReadsColumnsByNameAndAllowsEmptyStages) {
  ScratchDir dir;
  dir.write("frames.csv",
            "stream,frame,step,batch_size,decode_ms,queue_wait_ms,batch_wait_ms,preprocess_ms,"
            "inference_wait_ms,exec_ms,post_ms,end_to_end_ms,done_ms,detections,extra\r\n"
            "1,5,2,4,3.5,,1,2,0,20,1,30.5,120.25,3,x\r\n");
  auto frames = load_frames_csv(dir.path / "frames.csv");
  ASSERT_TRUE(frames) << frames.status().message();
  ASSERT_EQ(frames->rows.size(), 1u);
  EXPECT_EQ(frames->skipped.count, 0u);
  const FrameRow& f = frames->rows.front();
  EXPECT_EQ(f.stream, 1);
  EXPECT_EQ(f.frame, 5);
  EXPECT_DOUBLE_EQ(f.decode_ms, 3.5);
  EXPECT_TRUE(std::isnan(f.queue_wait_ms));
  EXPECT_DOUBLE_EQ(f.end_to_end_ms, 30.5);
  EXPECT_DOUBLE_EQ(f.done_ms, 120.25);
  EXPECT_EQ(f.detections, 3);
}

TEST(ReportData, FpsPerStreamCountsFramesPerSecond) {
  std::vector<FrameRow> frames(5);
  const double done[] = {100, 500, 1500, 2600, 900};
  const int stream[] = {0, 0, 0, 1, 1};
  for (int i = 0; i < 5; ++i) {
    frames[i].done_ms = done[i];
    frames[i].stream = stream[i];
  }
  const FpsSeries fps = fps_per_stream(frames);
  ASSERT_EQ(fps.seconds, (std::vector<double>{0, 1, 2}));  // last bin 0.6 s long: kept, scaled
  ASSERT_EQ(fps.stream_ids, (std::vector<int>{0, 1}));
  EXPECT_EQ(fps.fps[0], (std::vector<double>{2, 1, 0}));
  EXPECT_DOUBLE_EQ(fps.fps[1][0], 1);
  EXPECT_NEAR(fps.fps[1][2], 1 / 0.6, 1e-9);
  EXPECT_TRUE(fps_per_stream({}).seconds.empty());
}

// Found by fuzz_report_csv: a damaged frames CSV with done_ms 8.6e17 made the report ask for
// 8.6e14 bins per stream (and 1e300 cast out of size_t's range, undefined behaviour).
TEST(ReportData, FpsPerStreamStaysBoundedOnHugeTimes) {
  for (const double huge : {8.64e17, 1e300, std::numeric_limits<double>::max()}) {
    std::vector<FrameRow> frames(3);
    frames[0].done_ms = 100;
    frames[1].done_ms = huge;
    frames[1].stream = 7;
    frames[2].done_ms = std::numeric_limits<double>::infinity();  // left out
    const FpsSeries fps = fps_per_stream(frames);
    ASSERT_EQ(fps.stream_ids, (std::vector<int>{0, 7})) << huge;
    size_t values = 0;
    for (const auto& series : fps.fps) {
      EXPECT_EQ(series.size(), fps.seconds.size());
      values += series.size();
      for (double v : series) EXPECT_TRUE(std::isfinite(v)) << huge;
    }
    EXPECT_LE(values, kMaxFpsValues) << huge;
  }
}

// Found by fuzz_report_csv in CI: frames only before the start (negative done_ms, a damaged
// file) leave no bin, and the clamp to the first bin wrote into an empty series.
TEST(ReportData, FpsPerStreamWithNoBinCountsNothing) {
  std::vector<FrameRow> frames(2);
  frames[0].done_ms = -250;
  frames[1].done_ms = 0;
  const FpsSeries fps = fps_per_stream(frames);
  EXPECT_TRUE(fps.seconds.empty());
  ASSERT_EQ(fps.fps.size(), 1u);
  EXPECT_TRUE(fps.fps[0].empty());
  frames[1].done_ms = 900;  // one bin, 0.9 s long (kept, scaled): the early frame counts in it
  const FpsSeries one_bin = fps_per_stream(frames);
  ASSERT_EQ(one_bin.fps[0].size(), 1u);
  EXPECT_NEAR(one_bin.fps[0][0], 2 / 0.9, 1e-9);
}

TEST(ReportData, FpsPerStreamWidensBinsForVeryLongRuns) {
  // 4 streams over 1e6 s: 1-s bins would be 4e6 values, so 2-s bins, still rates.
  std::vector<FrameRow> frames;
  for (int stream = 0; stream < 4; ++stream) {
    for (double t : {0.5, 1.5, 1.7, 1e9}) {
      FrameRow f;
      f.stream = stream;
      f.done_ms = t * (t < 1e6 ? 1000 : 1);
      frames.push_back(f);
    }
  }
  const FpsSeries fps = fps_per_stream(frames);
  ASSERT_EQ(fps.seconds.size(), 500'000u);
  EXPECT_DOUBLE_EQ(fps.seconds[1], 2.0);
  EXPECT_DOUBLE_EQ(fps.fps[3][0], 1.5);  // 3 frames in the first 2 s
}

TEST(HtmlReport, PageIsSelfContainedAndCarriesTheData) {
  auto data = load_report_data(kFixtures);
  ASSERT_TRUE(data) << data.status().message();
  data->summary["streams"][0]["uri"] = "evil</script><script>alert(1)</script>";
  const auto page = report_page_data(*data, "2025-01-02 03:04:05", "now");
  const std::string html = render_html_report(page);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("<script src"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_NE(html.find("<title>streaminfer report: yolov8n (2025-01-02 03:04:05)</title>"),
            std::string::npos);
  EXPECT_NE(html.find("uPlot"), std::string::npos);
  EXPECT_GT(html.size(), 50'000u);  // the chart library is inlined

  // The data block parses back, intact, and the URI did not end the script element.
  const std::string open = "<script type=\"application/json\" id=\"report-data\">";
  const size_t begin = html.find(open);
  ASSERT_NE(begin, std::string::npos);
  const size_t end = html.find("</script>", begin);
  ASSERT_NE(end, std::string::npos);
  std::string text = html.substr(begin + open.size(), end - begin - open.size());
  const auto parsed = nlohmann::json::parse(text, nullptr, false);
  ASSERT_FALSE(parsed.is_discarded());
  EXPECT_EQ(parsed["summary"]["streams"][0]["uri"], "evil</script><script>alert(1)</script>");
  EXPECT_EQ(parsed["batches"]["t"].size(), 200u);
  EXPECT_EQ(parsed["frames"]["end_to_end"].size(), 800u);
  EXPECT_EQ(parsed["fps"]["streams"].size(), 4u);
  EXPECT_EQ(parsed["queues"]["streams"].size(), 4u);
  EXPECT_EQ(parsed["files"]["metrics"], kMetrics);
}

TEST(HtmlReport, WriteFailsOnAnUnwritablePath) {
  ScratchDir dir;
  dir.write("file", "x");
  const Status status = write_html_report((dir.path / "file" / "report.html").string(), "x");
  ASSERT_FALSE(status);
  EXPECT_NE(status.message().find("cannot write"), std::string::npos);
}

}  // namespace
}  // namespace streaminfer
