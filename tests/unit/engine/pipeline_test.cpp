#include "pipeline/pipeline.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

namespace streaminfer {
namespace {

std::unique_ptr<InferenceBackend> tiny_backend(int input_size = 64) {
  BackendOptions options;
  options.model = "yolov8n";
  options.input_size = input_size;
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

// Passes forwards on to a real backend and notes the input heights they had (inference thread).
class ForwardNotingBackend : public InferenceBackend {
 public:
  explicit ForwardNotingBackend(std::unique_ptr<InferenceBackend> inner)
      : inner_(std::move(inner)) {}
  const ModelInfo& info() const override { return inner_->info(); }
  Result<at::Tensor> infer(const at::Tensor& input) override {
    forwards.fetch_add(1);
    {
      std::lock_guard lock(mutex);
      heights.insert(input.size(2));
    }
    return inner_->infer(input);
  }
  std::atomic<int> forwards{0};
  std::mutex mutex;
  std::set<int64_t> heights;

 private:
  std::unique_ptr<InferenceBackend> inner_;
};

TEST(Pipeline, AModelSwappedMidRunTakesTheNextBatchAndNoFrameIsLost) {
  auto first = std::make_shared<ForwardNotingBackend>(tiny_backend());
  auto second = std::make_shared<ForwardNotingBackend>(tiny_backend(96));
  auto options = synthetic_options(2, 80);
  Pipeline pipeline(options, first);
  ASSERT_TRUE(pipeline.open_outputs());
  ASSERT_TRUE(pipeline.open_sources());
  Result<RunStats> stats = Status::error("not run");
  std::thread runner([&] { stats = pipeline.run(); });
  for (int i = 0; i < 10000 && pipeline.batches_done() < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const int64_t swapped_after = pipeline.batches_done();
  pipeline.use_backend(second);
  runner.join();
  ASSERT_TRUE(stats) << stats.status().message();
  ASSERT_GE(swapped_after, 3);
  ASSERT_LT(swapped_after, 40) << "the run (160 frames, batches of 4) ended before the swap";
  // Every frame got its result, across the change.
  EXPECT_EQ(stats.value().total_frames_done(), 160);
  for (const auto& s : stats.value().streams) EXPECT_EQ(s.frames_done, 80);
  // Each model saw only its own input size: the pool's tensors took the new shape.
  EXPECT_EQ(first->heights, std::set<int64_t>{64});
  EXPECT_EQ(second->heights, std::set<int64_t>{96});
  EXPECT_GT(second->forwards.load(), 0);
  ASSERT_EQ(stats.value().model_changes.size(), 1u);
  EXPECT_NE(stats.value().model_changes[0].find("yolov8n fp32 64x64 -> yolov8n fp32 96x96"),
            std::string::npos)
      << stats.value().model_changes[0];
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

// A service: streams join and leave the running pipeline; the run lasts until a stop request,
// with no stream at all in between, and every frame read gets its result.
TEST(Pipeline, AServiceAddsAndRemovesStreamsWhileItRunsAndEndsOnlyWhenStopped) {
  auto backend = tiny_backend();
  auto dir = std::filesystem::temp_directory_path() / "streaminfer_pipeline_service_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto options = synthetic_options(1, 12);
  options.service = true;
  options.output_jsonl = (dir / "det.jsonl").string();
  Pipeline pipeline(options, *backend);
  ASSERT_TRUE(pipeline.open_outputs());
  ASSERT_TRUE(pipeline.open_sources());
  Result<RunStats> stats = Status::error("not run");
  std::thread runner([&] { stats = pipeline.run(); });
  const auto wait_for = [&](const std::function<bool()>& condition) {
    for (int i = 0; i < 1000 && !condition(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return condition();
  };
  const auto state = [&](int id) { return pipeline.streams().at(static_cast<size_t>(id)); };
  // The first stream ends (12 frames); the service goes on with none running.
  ASSERT_TRUE(wait_for([&] { return state(0).status == "ended" && state(0).done == 12; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(stats) << "the service ended when its only stream ended";

  StreamSpec endless;
  endless.uri = "synthetic:?width=160&height=96&fps=30&objects=3&seed=7";
  endless.name = "lobby";
  endless.every_nth = 2;
  auto added = pipeline.add_stream(endless);
  ASSERT_TRUE(added) << added.status().message();
  EXPECT_EQ(added.value(), 1);
  StreamSpec short_one = "synthetic:?width=160&height=96&fps=30&objects=3&seed=8&frames=8";
  ASSERT_TRUE(pipeline.add_stream(short_one));
  ASSERT_TRUE(wait_for(
      [&] { return state(1).done >= 5 && state(2).status == "ended" && state(2).done == 8; }));
  EXPECT_EQ(state(1).name, "lobby");
  EXPECT_EQ(state(1).every_nth, 2);
  EXPECT_TRUE(state(1).up);
  EXPECT_EQ(state(2).name, "stream-2");
  EXPECT_EQ(state(2).done, 8);

  auto removed = pipeline.remove_stream(1);
  ASSERT_TRUE(removed) << removed.status().message();
  EXPECT_TRUE(removed.value().removed);
  EXPECT_EQ(removed.value().status, "removed");
  EXPECT_FALSE(removed.value().up);
  EXPECT_EQ(removed.value().queued, 0u);
  const int64_t done_at_removal = removed.value().done;
  EXPECT_FALSE(pipeline.remove_stream(1)) << "removed twice";
  EXPECT_FALSE(pipeline.remove_stream(99)) << "an unknown id was removed";
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(state(1).done, done_at_removal) << "a removed stream still delivered frames";

  pipeline.request_stop();
  runner.join();
  ASSERT_TRUE(stats) << stats.status().message();
  ASSERT_EQ(stats.value().streams.size(), 3u);
  EXPECT_EQ(stats.value().streams[1].status, "removed");
  EXPECT_FALSE(pipeline.add_stream(endless)) << "a stream was added to a stopped service";
  // Every frame read got its result, each stream's indices once each.
  int64_t decoded = 0, skipped = 0, done = 0;
  for (const auto& s : stats.value().streams) {
    decoded += s.frames_decoded;
    skipped += s.skipped;
    done += s.frames_done;
  }
  EXPECT_EQ(done, decoded - skipped);
  std::ifstream jsonl(dir / "det.jsonl");
  std::map<int, std::set<int64_t>> seen;
  int64_t lines = 0;
  for (std::string line; std::getline(jsonl, line); ++lines) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_TRUE(seen[j["stream"].get<int>()].insert(j["frame"].get<int64_t>()).second) << line;
  }
  EXPECT_EQ(lines, done);
  for (int64_t frame : seen[1]) EXPECT_EQ(frame % 2, 0) << "every_nth 2 was not applied";
}

}  // namespace
}  // namespace streaminfer
