#include "profile/accuracy_tracker.h"

#include <gtest/gtest.h>

#include <thread>

#include "profile/run_accuracy.h"
#include "profile/run_stats.h"
#include "profile/summary_json.h"

namespace streaminfer {
namespace {

constexpr double kTrackerTolerance = 1e-12;

Frame frame_with(int stream, std::vector<GroundTruthBox> truth, std::vector<Detection> dets) {
  Frame f;
  f.stream_id = stream;
  f.ground_truth = std::move(truth);
  f.detections = std::move(dets);
  return f;
}

const GroundTruthBox kBoxA{Box{0, 0, 10, 10}, 0};
const GroundTruthBox kBoxB{Box{50, 50, 70, 60}, 0};
const Detection kFoundA{Box{0, 0, 10, 10}, 0.9f, 0};

std::vector<std::string> shape_names() { return {"rectangle", "ellipse"}; }

TEST(AccuracyTrackerTest, UntrackedStreamsAreLeftOut) {
  AccuracyTracker tracker({false, true}, shape_names(), 0.25);
  EXPECT_FALSE(tracker.tracks(0));
  EXPECT_TRUE(tracker.tracks(1));
  EXPECT_FALSE(tracker.tracks(2));
  EXPECT_EQ(tracker.on_result(frame_with(0, {kBoxA}, {kFoundA})), -1.0);
  EXPECT_EQ(tracker.on_result(frame_with(1, {kBoxA, kBoxB}, {kFoundA})), 0.5);
  const RunAccuracy run = tracker.finish();
  ASSERT_EQ(run.streams.size(), 1u);
  EXPECT_EQ(run.streams[0].stream_id, 1);
  EXPECT_EQ(run.streams[0].processed.images, 1);
  EXPECT_EQ(run.overall.processed.images, 1);
  EXPECT_EQ(run.score_threshold, 0.25);
  EXPECT_EQ(run.class_names, shape_names());
}

TEST(AccuracyTrackerTest, PerStreamAndOverall) {
  // Stream 0 finds its one object, stream 1 misses its one object (same class). Overall: two
  // objects, one true positive at the top rank: recall 1/2 with precision 1, AP = 51/101.
  AccuracyTracker tracker({true, true}, shape_names(), 0.25);
  tracker.on_result(frame_with(0, {kBoxA}, {kFoundA}));
  tracker.on_result(frame_with(1, {kBoxB}, {}));
  const RunAccuracy run = tracker.finish();
  ASSERT_EQ(run.streams.size(), 2u);
  EXPECT_DOUBLE_EQ(run.streams[0].processed.map50, 1.0);
  EXPECT_EQ(run.streams[1].processed.map50, 0.0);
  EXPECT_NEAR(run.overall.processed.map50, 51.0 / 101.0, kTrackerTolerance);
  EXPECT_EQ(run.overall.processed.images, 2);
  EXPECT_EQ(run.overall.processed.ground_truths, 2);
  EXPECT_EQ(run.overall.dropped_frames, 0);
  EXPECT_EQ(run.overall.with_dropped.map50, run.overall.processed.map50);
}

TEST(AccuracyTrackerTest, DroppedFramesCountAsMisses) {
  // One processed frame found perfectly, one dropped frame with one object: with the drop, two
  // objects and one true positive, AP = 51/101.
  AccuracyTracker tracker({true}, shape_names(), 0.25);
  EXPECT_EQ(tracker.on_result(frame_with(0, {kBoxA}, {kFoundA})), 1.0);
  tracker.on_dropped(frame_with(0, {kBoxB}, {}));
  const RunAccuracy run = tracker.finish();
  ASSERT_EQ(run.streams.size(), 1u);
  const StreamAccuracy& s = run.streams[0];
  EXPECT_DOUBLE_EQ(s.processed.map50, 1.0);
  EXPECT_EQ(s.processed.images, 1);
  EXPECT_EQ(s.dropped_frames, 1);
  EXPECT_NEAR(s.with_dropped.map50, 51.0 / 101.0, kTrackerTolerance);
  EXPECT_EQ(s.with_dropped.images, 2);
  EXPECT_EQ(s.with_dropped.ground_truths, 2);
  EXPECT_EQ(run.overall.dropped_frames, 1);
  EXPECT_NEAR(run.overall.with_dropped.map50, 51.0 / 101.0, kTrackerTolerance);
  EXPECT_GE(run.evaluation_ms, 0.0);
}

TEST(AccuracyTrackerTest, DropsFromSeveralThreadsAreAllCounted) {
  AccuracyTracker tracker({true}, shape_names(), 0.25);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) tracker.on_dropped(frame_with(0, {kBoxA}, {}));
    });
  }
  for (int i = 0; i < 100; ++i) tracker.on_result(frame_with(0, {kBoxA}, {kFoundA}));
  for (auto& t : threads) t.join();
  const RunAccuracy run = tracker.finish();
  EXPECT_EQ(run.streams[0].dropped_frames, 2000);
  EXPECT_EQ(run.streams[0].with_dropped.images, 2100);
  EXPECT_EQ(run.streams[0].with_dropped.ground_truths, 2100);
}

TEST(AccuracyClassNamesTest, SourcesFirstThenModelLabels) {
  EXPECT_EQ(accuracy_class_names({{"rectangle", "ellipse"}}, {"person", "bicycle", "car"}),
            std::vector<std::string>({"rectangle", "ellipse", "car"}));
  EXPECT_EQ(accuracy_class_names({{"a"}, {"x", "b"}}, {}), std::vector<std::string>({"a", "b"}));
  EXPECT_EQ(accuracy_class_names({{"", "b"}}, {}), std::vector<std::string>({"class 0", "b"}));
  EXPECT_TRUE(accuracy_class_names({}, {}).empty());
}

RunAccuracy two_stream_run_with_a_drop() {
  AccuracyTracker tracker({true, true}, shape_names(), 0.25);
  tracker.on_result(frame_with(0, {kBoxA}, {kFoundA}));
  tracker.on_dropped(frame_with(0, {kBoxB}, {}));
  tracker.on_result(frame_with(1, {}, {}));  // no object at all in stream 1
  return tracker.finish();
}

TEST(RunAccuracyTest, SummaryLinesNameTheThresholdAndTheDrops) {
  const std::string text = format_accuracy(two_stream_run_with_a_drop());
  EXPECT_NE(text.find("--conf 0.25"), std::string::npos) << text;
  EXPECT_NE(text.find("stream 0: mAP@0.5 1.000  mAP@0.5:0.95 1.000  over 1 frame(s) (1 objects, "
                      "1 detections)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("counting 1 dropped frame(s) as misses: mAP@0.5 0.505"), std::string::npos)
      << text;
  EXPECT_NE(text.find("stream 1: no ground-truth object in 1 frame(s), mAP undefined"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("all streams: mAP@0.5 1.000"), std::string::npos) << text;
}

TEST(RunAccuracyTest, JsonBlock) {
  const nlohmann::json j = accuracy_to_json(two_stream_run_with_a_drop());
  EXPECT_EQ(j["score_threshold"].get<double>(), 0.25);
  EXPECT_EQ(j["overall"]["map50"].get<double>(), 1.0);
  EXPECT_EQ(j["overall"]["images"].get<int>(), 2);
  EXPECT_EQ(j["overall"]["with_dropped"]["dropped_frames"].get<int>(), 1);
  EXPECT_NEAR(j["overall"]["with_dropped"]["map50"].get<double>(), 51.0 / 101.0, kTrackerTolerance);
  // Only the classes with ground truth, by name.
  ASSERT_EQ(j["overall"]["classes"].size(), 1u);
  EXPECT_EQ(j["overall"]["classes"][0]["name"], "rectangle");
  EXPECT_EQ(j["overall"]["classes"][0]["ap50"].get<double>(), 1.0);
  ASSERT_EQ(j["streams"].size(), 2u);
  EXPECT_EQ(j["streams"][1]["id"].get<int>(), 1);
  EXPECT_TRUE(j["streams"][1]["map50"].is_null());  // undefined without ground truth
  EXPECT_TRUE(j["streams"][1]["classes"].empty());
}

TEST(RunAccuracyTest, SummaryTextAndJsonOnlyWithAccuracy) {
  RunStats stats;
  stats.wall_seconds = 1;
  EXPECT_EQ(format_summary(stats).find("accuracy"), std::string::npos);
  EXPECT_FALSE(summary_to_json(stats, "m", {}).contains("accuracy"));
  stats.accuracy = two_stream_run_with_a_drop();
  EXPECT_NE(format_summary(stats).find("accuracy against ground truth"), std::string::npos);
  EXPECT_TRUE(summary_to_json(stats, "m", {})["accuracy"].is_object());
}

}  // namespace
}  // namespace streaminfer
