#include "profile/trace_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

namespace streaminfer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int64_t kRunStart = 5'000'000'000;  // steady-clock ns, arbitrary but not 0
constexpr int64_t kMs = 1'000'000;

// A realistic run: `batches` batches of 2 frames alternating between 2 streams, every stage
// after the previous one; stream s's frame i is decoded at a distinct time.
std::vector<BatchTimeline> make_batches(int batches) {
  std::vector<BatchTimeline> out;
  int64_t clock = kRunStart + 1'234'567;  // first decode at 1234.567 us
  for (int step = 0; step < batches; ++step) {
    BatchTimeline b;
    b.step = step;
    for (int s = 0; s < 2; ++s) {
      FrameTimeline f;
      f.stream_id = s;
      f.frame_index = step;
      f.num_detections = s + 1;
      f.t.decode_start = clock + s * kMs;
      f.t.decode_end = f.t.decode_start + 2 * kMs;
      b.frames.push_back(f);
    }
    b.read_start = clock + 3 * kMs;
    b.read_end = clock + 4 * kMs;
    for (auto& f : b.frames) f.t.batched = b.read_end;
    b.prep_start = b.read_end + 100;
    int64_t t = b.prep_start;
    for (auto& f : b.frames) {
      f.t.prep_start = t;
      f.t.prep_end = t + kMs;
      t = f.t.prep_end;
    }
    b.prep_end = t;
    b.infer_start = t + 500;
    b.infer_end = b.infer_start + 20 * kMs;
    b.post_start = b.infer_end + 10;
    b.post_end = b.post_start + kMs;
    for (auto& f : b.frames) {
      f.t.infer_start = b.infer_start;
      f.t.infer_end = b.infer_end;
      f.t.post_start = b.post_start;
      f.t.post_end = b.post_end;
    }
    clock = b.post_end;
    out.push_back(b);
  }
  return out;
}

class TraceWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("streaminfer_trace_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    path_ = (dir_ / "nested" / "trace.json").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string read_text() const {
    std::ifstream in(path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  json read_json() const { return json::parse(read_text()); }  // throws (fails) if invalid

  std::unique_ptr<TraceWriter> open_writer(int streams) {
    auto writer = TraceWriter::open(path_, kRunStart, streams);
    EXPECT_TRUE(writer.is_ok()) << writer.status().message();
    return writer.is_ok() ? std::move(writer.value()) : nullptr;
  }

  fs::path dir_;
  std::string path_;
};

std::vector<json> events_with_ph(const json& doc, const std::string& ph) {
  std::vector<json> out;
  for (const auto& e : doc.at("traceEvents"))
    if (e.at("ph") == ph) out.push_back(e);
  return out;
}

TEST_F(TraceWriterTest, NamesOneTrackPerPipelineThread) {
  auto writer = open_writer(3);
  ASSERT_TRUE(writer);
  ASSERT_TRUE(writer->close().is_ok());
  const json doc = read_json();
  EXPECT_EQ(doc.at("displayTimeUnit"), "ms");
  std::map<std::string, int> tid_of;
  std::set<int> sorted_tids;
  bool process_named = false;
  for (const auto& e : events_with_ph(doc, "M")) {
    EXPECT_EQ(e.at("pid"), 1);
    if (e.at("name") == "process_name") process_named = e.at("args").at("name") == "streaminfer";
    if (e.at("name") == "thread_name") tid_of[e.at("args").at("name")] = e.at("tid");
    if (e.at("name") == "thread_sort_index") sorted_tids.insert(e.at("tid").get<int>());
  }
  EXPECT_TRUE(process_named);
  const std::vector<std::string> expected = {
      "decode stream 0", "decode stream 1", "decode stream 2", "batcher",
      "preprocess",      "inference",       "postprocess",     "sinks"};
  std::set<int> tids;
  for (const auto& name : expected) {
    ASSERT_EQ(tid_of.count(name), 1u) << name;
    tids.insert(tid_of[name]);
    EXPECT_EQ(sorted_tids.count(tid_of[name]), 1u) << name;
  }
  EXPECT_EQ(tids.size(), expected.size()) << "each track needs its own tid";
  EXPECT_EQ(tid_of.size(), expected.size());
}

TEST_F(TraceWriterTest, SlicesAreRelativeOrderedAndNamed) {
  auto writer = open_writer(2);
  ASSERT_TRUE(writer);
  for (const auto& b : make_batches(3)) writer->add_batch(b);
  ASSERT_TRUE(writer->close().is_ok());
  const std::string text = read_text();
  EXPECT_NE(text.find(R"("ts":1234.567)"), std::string::npos) << "ns-exact relative us";
  const json doc = json::parse(text);

  std::map<int, std::string> track;
  for (const auto& e : events_with_ph(doc, "M"))
    if (e.at("name") == "thread_name") track[e.at("tid")] = e.at("args").at("name");
  std::map<std::string, std::vector<json>> by_track;
  for (const auto& e : events_with_ph(doc, "X")) {
    ASSERT_EQ(track.count(e.at("tid")), 1u) << e.dump();
    EXPECT_GE(e.at("dur").get<double>(), 0.0) << e.dump();
    EXPECT_GE(e.at("ts").get<double>(), 0.0) << e.dump();
    by_track[track[e.at("tid")]].push_back(e);
  }
  EXPECT_EQ(by_track["decode stream 0"].size(), 3u);
  EXPECT_EQ(by_track["decode stream 1"].size(), 3u);
  EXPECT_EQ(by_track["batcher"].size(), 3u);
  EXPECT_EQ(by_track["preprocess"].size(), 6u);
  EXPECT_EQ(by_track["inference"].size(), 3u);
  EXPECT_EQ(by_track["postprocess"].size(), 3u);
  for (const auto& [name, slices] : by_track) {
    for (size_t i = 1; i < slices.size(); ++i) {
      EXPECT_LE(slices[i - 1].at("ts").get<double>(), slices[i].at("ts").get<double>()) << name;
    }
  }
  const json& first_decode = by_track["decode stream 0"][0];
  EXPECT_EQ(first_decode.at("name"), "decode");
  EXPECT_DOUBLE_EQ(first_decode.at("ts").get<double>(), 1234.567);
  EXPECT_DOUBLE_EQ(first_decode.at("dur").get<double>(), 2000.0);
  EXPECT_EQ(first_decode.at("args").at("stream"), 0);
  EXPECT_EQ(first_decode.at("args").at("frame"), 0);
  EXPECT_EQ(by_track["batcher"][1].at("name"), "batch 1");
  EXPECT_EQ(by_track["preprocess"][3].at("name"), "letterbox 1/1");
  EXPECT_EQ(by_track["preprocess"][3].at("args").at("step"), 1);
  EXPECT_EQ(by_track["inference"][2].at("name"), "inference batch 2 (size 2)");
  EXPECT_EQ(by_track["inference"][2].at("args").at("batch_size"), 2);
  EXPECT_DOUBLE_EQ(by_track["inference"][2].at("dur").get<double>(), 20000.0);
  EXPECT_EQ(by_track["postprocess"][0].at("name"), "postprocess batch 0");
  EXPECT_EQ(by_track["postprocess"][0].at("args").at("detections"), 3);
}

// Each flow point must lie inside a slice of its own track, or viewers draw no arrow.
bool inside_slice_on_track(const json& doc, const json& flow) {
  const double ts = flow.at("ts").get<double>();
  for (const auto& e : events_with_ph(doc, "X")) {
    if (e.at("tid") != flow.at("tid")) continue;
    const double start = e.at("ts").get<double>(), dur = e.at("dur").get<double>();
    if (ts >= start && ts <= start + dur) return true;
  }
  return false;
}

TEST_F(TraceWriterTest, FlowsLinkEachFramesStages) {
  auto writer = open_writer(2);
  ASSERT_TRUE(writer);
  for (const auto& b : make_batches(2)) writer->add_batch(b);
  ASSERT_TRUE(writer->close().is_ok());
  const json doc = read_json();
  std::map<int64_t, std::vector<json>> flows;
  for (const auto& e : doc.at("traceEvents")) {
    const std::string ph = e.at("ph");
    if (ph == "s" || ph == "t" || ph == "f") flows[e.at("id").get<int64_t>()].push_back(e);
  }
  ASSERT_EQ(flows.size(), 4u) << "one flow per frame";
  for (const auto& [id, points] : flows) {
    ASSERT_EQ(points.size(), 4u) << "decode -> letterbox -> inference -> postprocess";
    EXPECT_EQ(points[0].at("ph"), "s");
    EXPECT_EQ(points[1].at("ph"), "t");
    EXPECT_EQ(points[2].at("ph"), "t");
    EXPECT_EQ(points[3].at("ph"), "f");
    for (size_t i = 0; i < points.size(); ++i) {
      EXPECT_EQ(points[i].at("bp"), "e");
      EXPECT_EQ(points[i].at("cat"), points[0].at("cat"));
      EXPECT_TRUE(inside_slice_on_track(doc, points[i])) << points[i].dump();
      if (i > 0) {
        EXPECT_LE(points[i - 1].at("ts").get<double>(), points[i].at("ts").get<double>());
      }
    }
  }
}

TEST_F(TraceWriterTest, LeavesOutStagesNotReached) {
  auto writer = open_writer(1);
  ASSERT_TRUE(writer);
  BatchTimeline b = make_batches(1)[0];
  b.frames.resize(1);
  b.frames[0].stream_id = 0;
  b.post_start = b.post_end = 0;  // postprocess never ran
  b.frames[0].t.post_start = b.frames[0].t.post_end = 0;
  writer->add_batch(b);
  BatchTimeline only_decoded;
  only_decoded.step = 1;
  only_decoded.frames.push_back(b.frames[0]);
  only_decoded.frames[0].t.prep_start = only_decoded.frames[0].t.prep_end = 0;
  writer->add_batch(only_decoded);
  ASSERT_TRUE(writer->close().is_ok());
  const json doc = read_json();
  for (const auto& e : events_with_ph(doc, "X")) {
    EXPECT_EQ(e.at("name").get<std::string>().rfind("postprocess", 0), std::string::npos);
    EXPECT_GE(e.at("ts").get<double>(), 0.0);
  }
  EXPECT_EQ(events_with_ph(doc, "s").size(), 1u);
  EXPECT_EQ(events_with_ph(doc, "f").size(), 1u) << "the flow ends at inference";
  EXPECT_EQ(events_with_ph(doc, "t").size(), 1u);
}

TEST_F(TraceWriterTest, CountersAndMetadataAreEscapedJson) {
  auto writer = open_writer(2);
  ASSERT_TRUE(writer);
  writer->add_counter("queue depth", kRunStart + 2 * kMs, {{"stream 0", 3}, {"stream 1", 0.5}});
  writer->add_counter("dropped \"frames\"\n", kRunStart + 3 * kMs,
                      {{"stream\\0", 1}, {"nan", std::nan("")}});
  writer->add_metadata("model", "yolov8n");
  writer->add_metadata("source", "C:\\videos\\\"a\".mp4");
  writer->add_metadata("model", "yolov8s");  // later value wins
  ASSERT_TRUE(writer->close().is_ok());
  const json doc = read_json();
  const auto counters = events_with_ph(doc, "C");
  ASSERT_EQ(counters.size(), 2u);
  EXPECT_EQ(counters[0].at("name"), "queue depth");
  EXPECT_DOUBLE_EQ(counters[0].at("ts").get<double>(), 2000.0);
  EXPECT_EQ(counters[0].at("args").at("stream 0"), 3);
  EXPECT_DOUBLE_EQ(counters[0].at("args").at("stream 1").get<double>(), 0.5);
  EXPECT_EQ(counters[1].at("name"), "dropped \"frames\"\n");
  EXPECT_EQ(counters[1].at("args").at("stream\\0"), 1);
  EXPECT_FALSE(counters[1].at("args").contains("nan"));
  const json& meta = doc.at("metadata");
  EXPECT_EQ(meta.at("model"), "yolov8s");
  EXPECT_EQ(meta.at("source"), "C:\\videos\\\"a\".mp4");
  EXPECT_EQ(meta.at("streams"), "2");
}

TEST_F(TraceWriterTest, DestructorFinishesTheDocument) {
  {
    auto writer = open_writer(1);
    ASSERT_TRUE(writer);
    writer->add_batch(make_batches(1)[0]);
  }
  EXPECT_NO_THROW(read_json());
}

TEST_F(TraceWriterTest, ConcurrentWritersKeepTheDocumentValid) {
  auto writer = open_writer(2);
  ASSERT_TRUE(writer);
  const auto batches = make_batches(50);
  std::thread counters([&] {
    for (int i = 0; i < 200; ++i) writer->add_counter("queue depth", kRunStart + i, {{"s", i}});
  });
  for (const auto& b : batches) writer->add_batch(b);
  counters.join();
  ASSERT_TRUE(writer->close().is_ok());
  const json doc = read_json();
  EXPECT_EQ(events_with_ph(doc, "C").size(), 200u);
  EXPECT_EQ(events_with_ph(doc, "s").size(), 100u);
}

TEST_F(TraceWriterTest, UnwritablePathIsAnError) {
  fs::create_directories(dir_);
  std::ofstream(dir_ / "file") << "x";
  auto writer = TraceWriter::open((dir_ / "file" / "trace.json").string(), kRunStart, 1);
  ASSERT_FALSE(writer.is_ok());
  EXPECT_NE(writer.status().message().find("trace"), std::string::npos);
}

}  // namespace
}  // namespace streaminfer
