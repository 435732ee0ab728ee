#include "service/service_metrics.h"

#include <gtest/gtest.h>

#include "streaminfer/clock.h"

namespace streaminfer {
namespace {

// The batch as the run hands it to its peers.
void feed(ServiceMetrics& metrics, const Batch& batch) {
  metrics.on_batch(batch, BatchContext(batch, {}));
}

Batch batch_of(int frames, int64_t t0) {
  Batch b;
  for (int i = 0; i < frames; ++i) {
    auto f = std::make_unique<Frame>();
    f->stream_id = i;
    // 2 ms decode, 3 ms queue, 1 ms batch wait, 4 ms preprocess, 20 ms inference, 1 ms post.
    f->t.decode_start = t0;
    f->t.decode_end = t0 + 2'000'000;
    f->t.batched = t0 + 5'000'000;
    f->t.prep_start = t0 + 6'000'000;
    f->t.prep_end = t0 + 10'000'000;
    f->t.infer_start = t0 + 10'000'000;
    f->t.infer_end = t0 + 30'000'000;
    f->t.post_start = t0 + 30'000'000;
    f->t.post_end = t0 + 31'000'000;
    b.frames.push_back(std::move(f));
  }
  return b;
}

StreamState state(int id, const std::string& name, bool removed, int64_t done) {
  StreamState s;
  s.id = id;
  s.name = name;
  s.removed = removed;
  s.up = !removed;
  s.done = done;
  s.queued = 1;
  return s;
}

TEST(ServiceMetrics, StagesAreCountedPerFrameAndInferencePerBatch) {
  ServiceMetrics metrics;
  feed(metrics, batch_of(3, 1'000'000'000));
  const std::string text =
      metrics.prometheus({state(0, "door", false, 5), state(1, "gone", true, 9)},
                         {"0.1.0", "yolov8n", "int8", "cpu", 640, 640, 4, ""}, 1);
  for (const char* line :
       {"streaminfer_stage_seconds_count{stage=\"decode\"} 3\n",
        "streaminfer_stage_seconds_count{stage=\"inference\"} 1\n",
        "streaminfer_stage_seconds_bucket{stage=\"inference\",le=\"0.01\"} 0\n",
        "streaminfer_stage_seconds_bucket{stage=\"inference\",le=\"0.025\"} 1\n",
        "streaminfer_stage_seconds_bucket{stage=\"end_to_end\",le=\"0.05\"} 3\n",
        "streaminfer_batch_size_bucket{le=\"2\"} 0\n",
        "streaminfer_batch_size_bucket{le=\"4\"} 1\n",
        "streaminfer_frames_total{stream=\"door\"} 5\n",
        "streaminfer_stream_up{stream=\"door\"} 1\n",
        "streaminfer_queue_depth{stream=\"door\"} 1\n", "streaminfer_streams 1\n",
        "streaminfer_batches_total 1\n",
        "streaminfer_model_info{model=\"yolov8n\",precision=\"int8\",device=\"cpu\","
        "input=\"640x640\",batch_size=\"4\",version=\"0.1.0\"} 1\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line;
  }
  EXPECT_EQ(text.find("gone"), std::string::npos) << "a removed stream is still exported";
  EXPECT_NE(text.find("process_resident_memory_bytes "), std::string::npos);
}

// A fleet worker's metrics all carry its id, so that one query sums or splits over the fleet.
TEST(ServiceMetrics, AFleetWorkersEverySampleCarriesItsWorkerId) {
  ServiceMetrics metrics;
  feed(metrics, batch_of(2, 1'000'000'000));
  const std::string text = metrics.prometheus(
      {state(0, "door", false, 5)}, {"0.1.0", "yolov8n", "int8", "cpu", 640, 640, 4, "h:1"}, 1);
  size_t samples = 0;
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line[0] == '#') continue;
    ++samples;
    EXPECT_NE(line.find("{worker=\"h:1\""), std::string::npos) << line;
  }
  EXPECT_GT(samples, 20u);
  EXPECT_NE(text.find("streaminfer_frames_total{worker=\"h:1\",stream=\"door\"} 5\n"),
            std::string::npos);
  EXPECT_EQ(metrics.stats_json({}, {"", "", "", "", 0, 0, 0, "h:1"}, 0)["worker"], "h:1");
}

TEST(ServiceMetrics, StatsGiveRatesOverTheLastSecondAndStagePercentiles) {
  ServiceMetrics metrics;
  feed(metrics, batch_of(2, 1'000'000'000));
  const int64_t t0 = now_ns();
  metrics.on_queue_sample(t0 + 1'000'000'000, {{0, 1, 0, 10}});
  metrics.on_queue_sample(t0 + 2'000'000'000, {{0, 1, 0, 40}});
  const auto j = metrics.stats_json({state(0, "door", false, 40)}, {}, 7);
  ASSERT_EQ(j["streams"].size(), 1u);
  EXPECT_NEAR(j["streams"][0]["fps"].get<double>(), 30.0, 1e-6);
  EXPECT_EQ(j["frames"], 40);
  EXPECT_EQ(j["batches"], 7);
  EXPECT_NEAR(j["stages"]["inference"]["p50_ms"].get<double>(), 20.0, 0.5);
  EXPECT_EQ(j["stages"]["decode"]["count"], 2);
  EXPECT_GT(j["process"]["rss_bytes"].get<int64_t>(), 0);
  EXPECT_GT(j["process"]["threads"].get<int>(), 0);
}

}  // namespace
}  // namespace streaminfer
