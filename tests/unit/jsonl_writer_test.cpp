#include "sink/jsonl_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

namespace streaminfer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

Frame sample_frame() {
  Frame f;
  f.stream_id = 2;
  f.index = 17;
  f.pts_seconds = 0.56666;
  Detection car;
  car.box = {10.126f, 20.5f, 110.0f, 220.994f};
  car.score = 0.912345f;
  car.class_id = 1;
  Detection odd;
  odd.box = {0, 0, 1, 1};
  odd.score = 0.5f;
  odd.class_id = 9;  // beyond the label list
  f.detections = {car, odd};
  return f;
}

TEST(JsonlWriterTest, ClassifierFrameHasClassesInsteadOfDetections) {
  Frame f;
  f.stream_id = 1;
  f.index = 3;
  f.classes = {{2, 0.61234f}, {7, 0.2f}};
  const std::string line = format_jsonl_line(f, {"a", "b", "c"});
  const json j = json::parse(line);
  EXPECT_FALSE(j.contains("detections")) << line;
  ASSERT_TRUE(j["classes"].is_array()) << line;
  ASSERT_EQ(j["classes"].size(), 2u);
  EXPECT_EQ(j["classes"][0]["class_id"], 2);
  EXPECT_EQ(j["classes"][0]["label"], "c");
  EXPECT_NEAR(j["classes"][0]["score"].get<double>(), 0.6123, 1e-9);
  EXPECT_EQ(j["classes"][1]["label"], "class_7") << "beyond the label list";
}

TEST(JsonlWriterTest, LineHasFieldsTypesAndPrecision) {
  const std::string line = format_jsonl_line(sample_frame(), {"person", "car"});
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_NE(line.find("\"pts\":0.567"), std::string::npos) << line;
  EXPECT_NE(line.find("[10.13,20.50,110.00,220.99]"), std::string::npos) << line;
  EXPECT_NE(line.find("\"score\":0.9123"), std::string::npos) << line;

  const json j = json::parse(line);
  EXPECT_TRUE(j["stream"].is_number_integer());
  EXPECT_EQ(j["stream"], 2);
  EXPECT_EQ(j["frame"], 17);
  EXPECT_TRUE(j["pts"].is_number_float());
  ASSERT_TRUE(j["detections"].is_array());
  ASSERT_EQ(j["detections"].size(), 2u);
  const json& d = j["detections"][0];
  ASSERT_TRUE(d["box"].is_array());
  ASSERT_EQ(d["box"].size(), 4u);
  EXPECT_NEAR(d["box"][3].get<double>(), 220.99, 1e-9);
  EXPECT_TRUE(d["class"].is_number_integer());
  EXPECT_EQ(d["class"], 1);
  EXPECT_EQ(d["label"], "car");
  EXPECT_EQ(j["detections"][1]["label"], "class_9");
}

TEST(JsonlWriterTest, ANamedStreamAndAFleetWorkerAreOnTheLineAfterTheId) {
  const Frame f = sample_frame();
  const std::string plain = format_jsonl_line(f, {});
  EXPECT_EQ(plain.rfind("{\"stream\":2,\"frame\":17,", 0), 0u) << plain;
  const std::string tagged = format_jsonl_line(f, {}, {"door-1", "host \"a\":8080"});
  EXPECT_EQ(tagged.rfind("{\"stream\":2,\"name\":\"door-1\",\"worker\":", 0), 0u) << tagged;
  const json j = json::parse(tagged);
  EXPECT_EQ(j["name"], "door-1");
  EXPECT_EQ(j["worker"], "host \"a\":8080");
  EXPECT_EQ(j["frame"], 17);
  EXPECT_FALSE(json::parse(format_jsonl_line(f, {}, {"", "w1"})).contains("name"));
}

TEST(JsonlWriterTest, EmptyDetectionsIsEmptyArray) {
  Frame f;
  const json j = json::parse(format_jsonl_line(f, {}));
  EXPECT_TRUE(j["detections"].is_array());
  EXPECT_TRUE(j["detections"].empty());
}

TEST(JsonlWriterTest, LabelsAreEscaped) {
  Frame f;
  Detection d;
  d.class_id = 0;
  f.detections = {d};
  const std::string label = "say \"hi\" \\ tab\there\nnew\x01 caf\xc3\xa9";
  const json j = json::parse(format_jsonl_line(f, {label}));
  EXPECT_EQ(j["detections"][0]["label"].get<std::string>(), label);
}

TEST(JsonlWriterTest, NonFiniteNumbersStayValidJson) {
  Frame f;
  f.pts_seconds = std::numeric_limits<double>::quiet_NaN();
  Detection d;
  d.score = std::numeric_limits<float>::infinity();
  f.detections = {d};
  const json j = json::parse(format_jsonl_line(f, {}));
  EXPECT_TRUE(j["pts"].is_null());
  EXPECT_TRUE(j["detections"][0]["score"].is_null());
}

TEST(JsonlWriterTest, WritesOneLinePerFrameToFile) {
  const fs::path dir =
      fs::temp_directory_path() / ("streaminfer_jsonl_" + std::to_string(getpid()));
  fs::remove_all(dir);
  const std::string path = (dir / "sub" / "dets.jsonl").string();
  auto writer = JsonlWriter::open(path);
  ASSERT_TRUE(writer.is_ok()) << writer.status().message();
  Frame f = sample_frame();
  for (int i = 0; i < 3; ++i) {
    f.index = i;
    (*writer)->write(f, {"person", "car"});
  }
  ASSERT_TRUE((*writer)->close().is_ok());
  EXPECT_TRUE((*writer)->close().is_ok()) << "close twice is harmless";

  std::ifstream in(path);
  int n = 0;
  for (std::string line; std::getline(in, line); ++n) {
    const json j = json::parse(line);
    EXPECT_EQ(j["frame"], n);
  }
  EXPECT_EQ(n, 3);
  fs::remove_all(dir);
}

TEST(JsonlWriterTest, APreformattedLineIsWrittenLikeTheFrame) {
  const fs::path dir =
      fs::temp_directory_path() / ("streaminfer_jsonl_line_" + std::to_string(getpid()));
  fs::remove_all(dir);
  const std::string path = (dir / "dets.jsonl").string();
  auto writer = JsonlWriter::open(path);
  ASSERT_TRUE(writer.is_ok()) << writer.status().message();
  const Frame f = sample_frame();
  (*writer)->write(f, {"person", "car"});
  (*writer)->write_line(format_jsonl_line(f, {"person", "car"}));
  ASSERT_TRUE((*writer)->close().is_ok());
  std::ifstream in(path);
  std::string first, second, rest;
  ASSERT_TRUE(std::getline(in, first));
  ASSERT_TRUE(std::getline(in, second));
  EXPECT_FALSE(std::getline(in, rest));
  EXPECT_EQ(first, second);
  fs::remove_all(dir);
}

TEST(JsonlWriterTest, OpenErrorNamesThePath) {
  const std::string path = "/proc/streaminfer_no_such_dir/dets.jsonl";
  auto writer = JsonlWriter::open(path);
  ASSERT_FALSE(writer.is_ok());
  EXPECT_NE(writer.status().message().find(path), std::string::npos) << writer.status().message();
}

}  // namespace
}  // namespace streaminfer
