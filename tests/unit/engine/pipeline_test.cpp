#include "pipeline/pipeline.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

namespace streaminfer {
namespace {

std::unique_ptr<InferenceBackend> tiny_backend() {
  BackendOptions options;
  options.model = "yolov8n";
  options.input_size = 64;
  options.threads = 1;
  auto backend = create_backend(options);
  EXPECT_TRUE(backend) << backend.status().message();
  return std::move(backend.value());
}

PipelineOptions synthetic_options(int streams, int frames) {
  PipelineOptions options;
  for (int i = 0; i < streams; ++i) {
    options.sources.push_back("synthetic:?width=160&height=96&fps=30&objects=3&seed=" +
                              std::to_string(i + 1) + "&frames=" + std::to_string(frames));
  }
  options.pace = PaceMode::kMax;
  options.batcher.max_batch = 4;
  options.progress = false;
  options.model_name = "yolov8n";
  return options;
}

TEST(Pipeline, EveryFrameOfEveryStreamGetsOneResult) {
  auto backend = tiny_backend();
  auto dir = std::filesystem::temp_directory_path() / "streaminfer_pipeline_test";
  std::filesystem::remove_all(dir);
  auto options = synthetic_options(3, 10);
  options.output_jsonl = (dir / "det.jsonl").string();
  options.metrics_dir = dir.string();
  Pipeline pipeline(options, *backend);
  ASSERT_TRUE(pipeline.open_outputs());
  ASSERT_TRUE(pipeline.open_sources());
  auto stats = pipeline.run();
  ASSERT_TRUE(stats) << stats.status().message();

  EXPECT_EQ(stats.value().total_frames_done(), 30);
  for (const auto& s : stats.value().streams) {
    EXPECT_EQ(s.frames_decoded, 10);
    EXPECT_EQ(s.frames_done, 10);
    EXPECT_EQ(s.dropped, 0);
    EXPECT_EQ(s.status, "ok");
  }
  // Per-frame stages are recorded once per frame, per-batch stages once per batch.
  EXPECT_EQ(stats.value().stage(Stage::kEndToEnd).count(), 30);
  EXPECT_EQ(stats.value().stage(Stage::kDecode).count(), 30);
  EXPECT_EQ(stats.value().stage(Stage::kInference).count(), stats.value().batches);
  EXPECT_GE(stats.value().batches, 8);  // 30 frames, at most 4 per batch
  // A frame cannot spend longer in one stage than end to end.
  EXPECT_LE(stats.value().stage(Stage::kInference).max(),
            stats.value().stage(Stage::kEndToEnd).max() + 1e-6);

  std::map<int, std::vector<int>> frames_per_stream;
  std::ifstream jsonl(options.output_jsonl);
  for (std::string line; std::getline(jsonl, line);) {
    auto j = nlohmann::json::parse(line);
    frames_per_stream[j["stream"].get<int>()].push_back(j["frame"].get<int>());
  }
  ASSERT_EQ(frames_per_stream.size(), 3u);
  for (auto& [stream, frames] : frames_per_stream) {
    std::sort(frames.begin(), frames.end());
    std::vector<int> expected(10);
    std::iota(expected.begin(), expected.end(), 0);
    EXPECT_EQ(frames, expected) << "stream " << stream;
  }
  // One file of each kind, named after the model and the process.
  std::map<char, std::vector<std::filesystem::path>> files_by_kind;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > 2 && name[1] == '_') files_by_kind[name[0]].push_back(entry.path());
  }
  for (char kind : {'M', 'F', 'Q', 'S'}) EXPECT_EQ(files_by_kind[kind].size(), 1u) << kind;
  ASSERT_EQ(files_by_kind['F'].size(), 1u);
  std::ifstream frames_csv(files_by_kind['F'][0]);
  int rows = 0;
  for (std::string line; std::getline(frames_csv, line);) ++rows;
  EXPECT_EQ(rows, 1 + 30);  // header + one row per frame
  ASSERT_EQ(files_by_kind['S'].size(), 1u);
  std::ifstream summary_file(files_by_kind['S'][0]);
  const auto summary = nlohmann::json::parse(summary_file);
  EXPECT_EQ(summary["frames"].get<int>(), 30);
  EXPECT_EQ(summary["streams"].size(), 3u);
  std::filesystem::remove_all(dir);
}

TEST(Pipeline, BadSourceFailsAloneAndOthersRun) {
  auto backend = tiny_backend();
  auto options = synthetic_options(2, 5);
  options.sources.insert(options.sources.begin() + 1, "/nonexistent/camera.mp4");
  Pipeline pipeline(options, *backend);
  ASSERT_TRUE(pipeline.open_sources());
  auto stats = pipeline.run();
  ASSERT_TRUE(stats);
  const auto& streams = stats.value().streams;
  ASSERT_EQ(streams.size(), 3u);
  EXPECT_EQ(streams[0].frames_done, 5);
  EXPECT_EQ(streams[1].frames_done, 0);
  EXPECT_NE(streams[1].status.find("failed"), std::string::npos);
  EXPECT_NE(streams[1].status.find("/nonexistent/camera.mp4"), std::string::npos);
  EXPECT_EQ(streams[2].frames_done, 5);
}

TEST(Pipeline, NoSourceThatOpensIsAnError) {
  auto backend = tiny_backend();
  PipelineOptions options = synthetic_options(0, 0);
  options.sources = {"/nonexistent/a.mp4", "/nonexistent/b.mp4"};
  Pipeline pipeline(options, *backend);
  EXPECT_FALSE(pipeline.open_sources());
}

TEST(Pipeline, MaxStepsStopsAfterThatManyBatches) {
  auto backend = tiny_backend();
  auto options = synthetic_options(2, 0);  // endless streams
  options.max_steps = 3;
  Pipeline pipeline(options, *backend);
  ASSERT_TRUE(pipeline.open_sources());
  auto stats = pipeline.run();
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats.value().batches, 3);
}

}  // namespace
}  // namespace streaminfer

namespace streaminfer {
namespace {

TEST(Pipeline, TraceHasASliceOnEveryThreadTrackFlowsAndCounters) {
  auto backend = tiny_backend();
  auto dir = std::filesystem::temp_directory_path() / "streaminfer_trace_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto options = synthetic_options(2, 12);
  options.trace_path = (dir / "run.json").string();
  options.output_jsonl = (dir / "det.jsonl").string();
  Pipeline pipeline(options, *backend);
  ASSERT_TRUE(pipeline.open_outputs());
  ASSERT_TRUE(pipeline.open_sources());
  ASSERT_TRUE(pipeline.run());

  std::ifstream file(options.trace_path);
  const auto trace = nlohmann::json::parse(file);
  std::map<int, std::string> track_names;
  std::map<int, int> slices_per_track;
  std::map<char, int> flow_phases;
  int counters = 0;
  for (const auto& e : trace["traceEvents"]) {
    const std::string ph = e["ph"];
    if (ph == "M" && e["name"] == "thread_name") {
      track_names[e["tid"].get<int>()] = e["args"]["name"];
    } else if (ph == "X") {
      EXPECT_GE(e["dur"].get<double>(), 0.0);
      slices_per_track[e["tid"].get<int>()]++;
    } else if (ph == "s" || ph == "t" || ph == "f") {
      flow_phases[ph[0]]++;
    } else if (ph == "C") {
      counters++;
    }
  }
  for (const auto& [tid, name] : track_names) {
    EXPECT_GT(slices_per_track[tid], 0) << "no slices on track " << name;
  }
  EXPECT_GE(track_names.size(), 7u);  // 2 decoders, batcher, preprocess, inference, post, sinks
  EXPECT_EQ(flow_phases['s'], 24);    // one flow per frame
  EXPECT_EQ(flow_phases['f'], 24);
  EXPECT_GT(counters, 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace streaminfer
