// Synthetic streams end to end: every frame gives one valid JSONL line, the metrics CSV accounts
// for every frame, the summary has its rows, and a YAML config does what the same flags do.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "run_command.h"

namespace streaminfer::test {
namespace {
namespace fs = std::filesystem;

constexpr int kWidth = 320;
constexpr int kHeight = 240;
constexpr int kFrames = 60;
constexpr int kBatch = 4;

// Every box within [0, width] x [0, height] (JSONL boxes have 2 decimals) and every score at or
// above the confidence threshold (scores have 4 decimals).
void expect_boxes_inside(const JsonlFile& jsonl, double width, double height, double conf) {
  int reported = 0;
  for (const auto& f : jsonl.frames) {
    for (const auto& d : f.detections) {
      bool inside = d.box[0] >= -0.005 && d.box[1] >= -0.005 && d.box[2] <= width + 0.005 &&
                    d.box[3] <= height + 0.005;
      if (!inside && reported++ < 5) {
        ADD_FAILURE() << fmt::format(
            "stream {} frame {}: box [{}, {}, {}, {}] outside the {}x{} "
            "source frame",
            f.stream, f.frame, d.box[0], d.box[1], d.box[2], d.box[3], width, height);
      }
      if (d.score < conf - 1e-4 && reported++ < 5) {
        ADD_FAILURE() << fmt::format("stream {} frame {}: score {} below --conf {}", f.stream,
                                     f.frame, d.score, conf);
      }
    }
  }
}

void expect_summary(const CommandResult& r) {
  for (const char* word :
       {"FPS", "decode", "preprocess", "inference", "postprocess", "end_to_end", "bottleneck:"}) {
    EXPECT_NE(r.out.find(word), std::string::npos)
        << "the summary on stdout has no \"" << word << "\"\n"
        << r.describe();
  }
}

TEST(SyntheticRun, TwoStreamsEveryFrameHasOneValidLineAndTheCsvAccountsForAll) {
  TempDir dir;
  const fs::path jsonl_path = dir / "detections.jsonl";
  const fs::path metrics_dir = dir / "metrics";
  CommandResult r =
      run_command(streaminfer_run({"--source", synthetic_uri(kWidth, kHeight, kFrames, 1),
                                   "--source", synthetic_uri(kWidth, kHeight, kFrames, 2), "--pace",
                                   "max", "--batch-size", std::to_string(kBatch), "--output",
                                   jsonl_path.string(), "--metrics-dir", metrics_dir.string()}));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  expect_summary(r);
  EXPECT_NE(r.out.find("random weights"), std::string::npos)
      << "the built-in yolov8n without --weights should say it runs random weights\n"
      << r.describe();

  // JSONL: 120 valid lines, frames 0..59 of streams 0 and 1 once each, boxes inside the frame.
  JsonlFile jsonl = parse_jsonl(jsonl_path);
  EXPECT_EQ(jsonl.lines, 2u * kFrames);
  EXPECT_TRUE(jsonl.errors.empty()) << fmt::format("{}", fmt::join(jsonl.errors, "\n"));
  std::set<int64_t> streams;
  for (const auto& f : jsonl.frames) streams.insert(f.stream);
  EXPECT_EQ(streams, (std::set<int64_t>{0, 1}));
  EXPECT_EQ(check_frame_indices(jsonl, 0, kFrames), "");
  EXPECT_EQ(check_frame_indices(jsonl, 1, kFrames), "");
  expect_boxes_inside(jsonl, kWidth, kHeight, 0.25);
  // pts of a 30 fps synthetic stream: frame / 30 s, increasing with the frame index.
  for (const auto& f : jsonl.frames) {
    EXPECT_NEAR(f.pts, f.frame / 30.0, 0.002) << "stream " << f.stream << " frame " << f.frame;
  }

  // Metrics CSV: M_yolov8n_P_{pid}_metrics.csv, the exact header, one row per batch.
  const fs::path csv_path = metrics_dir / fmt::format("M_yolov8n_P_{}_metrics.csv", r.pid);
  std::vector<std::string> present;
  if (fs::exists(metrics_dir)) {
    for (const auto& e : fs::directory_iterator(metrics_dir)) present.push_back(e.path().string());
  }
  ASSERT_TRUE(fs::exists(csv_path)) << csv_path << " does not exist; " << metrics_dir
                                    << " holds: " << fmt::format("{}", fmt::join(present, ", "));
  CsvFile csv = read_csv(csv_path);
  ASSERT_EQ(csv.header,
            "step,read_latency_ms,prep_latency_ms,exec_latency_ms,post_latency_ms,"
            "total_step_latency_ms,batch_size,loss,start_ms,streams,box_loss,cls_loss,dfl_loss,"
            "forward_ms,backward_ms,optimizer_ms");
  EXPECT_GE(csv.rows.size(), static_cast<size_t>((2 * kFrames + kBatch - 1) / kBatch));
  int64_t frames_in_batches = 0;
  std::set<long long> steps;
  for (size_t i = 0; i < csv.rows.size(); ++i) {
    const auto& row = csv.rows[i];
    ASSERT_EQ(row.size(), csv.columns.size()) << "row " << i + 1 << " of " << csv_path;
    char* end = nullptr;
    long long step = std::strtoll(row[0].c_str(), &end, 10);
    EXPECT_TRUE(!row[0].empty() && *end == '\0') << "step is not an integer: " << row[0];
    EXPECT_TRUE(steps.insert(step).second) << "step " << step << " repeated";
    for (size_t c : {1u, 2u, 3u, 4u, 5u, 8u}) {
      double v = std::strtod(row[c].c_str(), &end);
      EXPECT_TRUE(!row[c].empty() && *end == '\0' && std::isfinite(v) && v >= 0)
          << csv.columns[c] << " is not a number >= 0 in row " << i + 1 << ": \"" << row[c] << "\"";
    }
    long long bs = std::strtoll(row[6].c_str(), &end, 10);
    EXPECT_TRUE(!row[6].empty() && *end == '\0' && bs >= 1 && bs <= kBatch)
        << "batch_size \"" << row[6] << "\" not in 1.." << kBatch << " in row " << i + 1;
    frames_in_batches += bs;
    for (size_t c : {7u, 10u, 11u, 12u, 13u, 14u, 15u}) {
      EXPECT_EQ(row[c], "") << csv.columns[c] << " should be empty in inference mode (row " << i + 1
                            << ")";
    }
    // streams: the stream id of each frame of the batch, e.g. "0;1;0;1".
    size_t count = row[9].empty() ? 0 : 1 + std::count(row[9].begin(), row[9].end(), ';');
    EXPECT_EQ(static_cast<long long>(count), bs)
        << "streams \"" << row[9] << "\" does not list batch_size ids (row " << i + 1 << ")";
  }
  EXPECT_EQ(frames_in_batches, 2 * kFrames) << "batch_size column should sum to the frames run";
}

TEST(SyntheticRun, YamlConfigRunsLikeTheFlags) {
  TempDir dir;
  const fs::path jsonl_path = dir / "out.jsonl";
  const fs::path config = dir / "job.yaml";
  write_file(config, fmt::format("source:\n"
                                 "  - \"{}\"\n"
                                 "  - \"{}\"\n"
                                 "imgsz: 320\n"
                                 "threads: 2\n"
                                 "warmup: 1\n"
                                 "pace: max\n"
                                 "output: \"{}\"\n",
                                 synthetic_uri(kWidth, kHeight, 12, 5),
                                 synthetic_uri(160, 128, 9, 6), jsonl_path.string()));
  CommandResult r =
      run_command({streaminfer_bin(), "run", "--config", config.string(), "--no-progress"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  expect_summary(r);
  JsonlFile jsonl = parse_jsonl(jsonl_path);
  EXPECT_TRUE(jsonl.errors.empty()) << fmt::format("{}", fmt::join(jsonl.errors, "\n"));
  EXPECT_EQ(jsonl.lines, 21u);
  EXPECT_EQ(check_frame_indices(jsonl, 0, 12), "");
  EXPECT_EQ(check_frame_indices(jsonl, 1, 9), "");
}

TEST(SyntheticRun, MaxFramesCapsEachStream) {
  TempDir dir;
  const fs::path jsonl_path = dir / "out.jsonl";
  CommandResult r =
      run_command(streaminfer_run({"--source", synthetic_uri(kWidth, kHeight, 100, 1), "--source",
                                   synthetic_uri(kWidth, kHeight, 5, 2), "--max-frames", "7",
                                   "--pace", "max", "--output", jsonl_path.string()}));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  JsonlFile jsonl = parse_jsonl(jsonl_path);
  EXPECT_TRUE(jsonl.errors.empty()) << fmt::format("{}", fmt::join(jsonl.errors, "\n"));
  EXPECT_EQ(check_frame_indices(jsonl, 0, 7), "");  // capped at --max-frames
  EXPECT_EQ(check_frame_indices(jsonl, 1, 5), "");  // the stream's own end comes first
}

}  // namespace
}  // namespace streaminfer::test
