#include "service/stream_request.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace streaminfer {
namespace {

TEST(StreamRequest, AFullRequestGivesItsSpec) {
  auto spec = parse_stream_request(
      R"({"uri": "synthetic:?fps=10", "name": "door-1", "sample_fps": 2.5, "every_nth": 3})");
  ASSERT_TRUE(spec) << spec.status().message();
  EXPECT_EQ(spec.value().uri, "synthetic:?fps=10");
  EXPECT_EQ(spec.value().name, "door-1");
  EXPECT_DOUBLE_EQ(spec.value().sample_fps, 2.5);
  EXPECT_EQ(spec.value().every_nth, 3);
  // Left out: the service's own settings apply.
  auto bare = parse_stream_request(R"({"uri": "rtsp://10.0.0.5:554/live"})");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare.value().every_nth, 0);
  EXPECT_LT(bare.value().sample_fps, 0);
}

TEST(StreamRequest, BadRequestsAreOneLineNamingTheField) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "malformed JSON"},
      {"{\"uri\": ", "malformed JSON"},
      {"[1, 2]", "expected a JSON object"},
      {"{}", "'uri' is missing"},
      {R"({"uri": 5})", "'uri' must be a string"},
      {R"({"uri": "synthetic:", "colour": 1})", "unknown key 'colour'"},
      {R"({"uri": "synthetic:", "name": "a b"})", "name 'a b'"},
      {R"({"uri": "synthetic:", "name": ""})", "name ''"},
      {R"({"uri": "synthetic:", "name": "stream-7"})", "stream-N is how"},
      {R"({"uri": "synthetic:", "every_nth": 0})", "'every_nth' must be an integer"},
      {R"({"uri": "synthetic:", "every_nth": 1.5})", "'every_nth' must be an integer"},
      {R"({"uri": "synthetic:", "sample_fps": -1})", "'sample_fps' must be a number"},
      {R"({"uri": "synthetic:", "sample_fps": "2"})", "'sample_fps' must be a number"},
      {R"({"uri": "gopher://host/x"})", "unknown scheme"},
      {R"({"uri": "rtsp://"})", "no host"},
      {R"({"uri": "/no/such/clip.mp4"})", "no such file"},
      {R"({"uri": "synthetic:?fps=abc"})", "uri:"},
      {R"({"uri": "a\nb"})", "control characters"},
      {"{\"uri\": \"\xff\"}", "malformed JSON"},
  };
  for (const auto& [body, expected] : cases) {
    auto spec = parse_stream_request(body);
    ASSERT_FALSE(spec) << body;
    EXPECT_NE(spec.status().message().find(expected), std::string::npos)
        << body << " -> " << spec.status().message();
    EXPECT_EQ(spec.status().message().find('\n'), std::string::npos) << body;
  }
  EXPECT_FALSE(parse_stream_request(std::string(kMaxRequestBytes + 1, ' ')));
}

TEST(StreamRequest, AnExistingFileAndCamerasAreAccepted) {
  const auto file = std::filesystem::temp_directory_path() / "streaminfer_stream_request.mp4";
  std::ofstream(file) << "x";
  EXPECT_TRUE(check_stream_uri(file.string()));
  EXPECT_TRUE(check_stream_uri("camera:0"));
  EXPECT_TRUE(check_stream_uri("http://127.0.0.1:8090/feed.mjpeg"));
  std::filesystem::remove(file);
}

}  // namespace
}  // namespace streaminfer
