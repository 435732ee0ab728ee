#include "service/http_api.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <random>

#include "http_client.h"

namespace streaminfer {
namespace {

// The API takes JSON bodies only (415 otherwise): every POST here says so.
test::HttpResponse http_request(const std::string& method, const std::string& url,
                                const std::string& body = {},
                                std::vector<std::string> headers = {}) {
  if (method == "POST") headers.push_back("Content-Type: application/json");
  return test::http_request(method, url, body, headers);
}

// The routes over an in-memory stream list: what the API answers, not what the pipeline does.
class FakeService {
 public:
  ApiHandlers handlers() {
    ApiHandlers h;
    h.streams = [this] {
      std::lock_guard lock(mutex_);
      return streams_;
    };
    h.add_stream = [this](const StreamSpec& spec) -> ApiResult<StreamState> {
      std::lock_guard lock(mutex_);
      StreamState s;
      s.id = static_cast<int>(streams_.size());
      s.name = spec.name.empty() ? "stream-" + std::to_string(s.id) : spec.name;
      s.uri = spec.uri;
      s.status = "opening";
      streams_.push_back(s);
      return s;
    };
    h.remove_stream = [this](int id) -> ApiResult<StreamState> {
      std::lock_guard lock(mutex_);
      if (id >= static_cast<int>(streams_.size()) || streams_[id].removed) {
        return ApiError{404, "no stream " + std::to_string(id)};
      }
      streams_[id].removed = true;
      return streams_[id];
    };
    h.stats = [] { return nlohmann::json{{"frames", 7}}; };
    h.metrics = [] { return std::string("streaminfer_frames_total 7\n"); };
    h.not_ready = [this] { return ready ? std::string() : std::string("no stream yet"); };
    h.reload = []() -> ApiResult<nlohmann::json> { return ApiError{409, "no config"}; };
    return h;
  }
  bool ready = false;

 private:
  std::mutex mutex_;
  std::vector<StreamState> streams_;
};

class HttpApi : public ::testing::Test {
 protected:
  void start(const std::string& token = {}) {
    auto server = ApiServer::start({"127.0.0.1", 0, true}, token, fake_.handlers());
    ASSERT_TRUE(server) << server.status().message();
    server_ = std::move(server.value());
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  static nlohmann::json json_of(const test::HttpResponse& r) {
    return nlohmann::json::parse(r.body, nullptr, false);
  }

  FakeService fake_;
  std::unique_ptr<ApiServer> server_;
  std::string base_;
};

TEST_F(HttpApi, RoutesAnswerJsonWithTheirStatus) {
  start();
  EXPECT_EQ(http_request("GET", base_ + "/healthz").status, 200);
  auto not_ready = http_request("GET", base_ + "/readyz");
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_EQ(json_of(not_ready)["why"], "no stream yet");
  fake_.ready = true;
  EXPECT_EQ(http_request("GET", base_ + "/readyz").status, 200);

  auto created =
      http_request("POST", base_ + "/streams", R"({"uri": "synthetic:?fps=5", "name": "door"})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(json_of(created)["id"], 0);
  EXPECT_EQ(created.header("location"), "/streams/0");
  EXPECT_EQ(created.header("content-type"), "application/json");
  EXPECT_EQ(json_of(http_request("GET", base_ + "/streams/0"))["name"], "door");
  EXPECT_EQ(json_of(http_request("GET", base_ + "/streams"))["streams"].size(), 1u);
  EXPECT_EQ(http_request("DELETE", base_ + "/streams/0").status, 200);
  // Removed: no longer listed nor found.
  EXPECT_EQ(json_of(http_request("GET", base_ + "/streams"))["streams"].size(), 0u);
  EXPECT_EQ(http_request("GET", base_ + "/streams/0").status, 404);
  EXPECT_EQ(http_request("DELETE", base_ + "/streams/0").status, 404);

  auto metrics = http_request("GET", base_ + "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.body, "streaminfer_frames_total 7\n");
  EXPECT_NE(metrics.header("content-type").find("text/plain; version=0.0.4"), std::string::npos);
  EXPECT_EQ(json_of(http_request("GET", base_ + "/stats"))["frames"], 7);
  EXPECT_EQ(http_request("POST", base_ + "/reload").status, 409);
}

TEST_F(HttpApi, AFleetWorkerListsCamerasInTheFleetAndAnswersFleetRoutes) {
  EXPECT_EQ(ApiHandlers().fleet, nullptr);
  std::vector<std::string> listed, removed;
  ApiHandlers h = fake_.handlers();
  h.fleet = [] { return nlohmann::json{{"workers", nlohmann::json::array()}}; };
  h.add_fleet_camera = [&](const StreamSpec& spec) -> ApiResult<nlohmann::json> {
    if (spec.name.empty()) return ApiError{400, "a fleet's camera needs a name"};
    listed.push_back(spec.name);
    return nlohmann::json{{"name", spec.name}};
  };
  h.remove_fleet_camera = [&](const std::string& name) -> ApiResult<nlohmann::json> {
    if (name != "door") return ApiError{404, "no camera " + name};
    removed.push_back(name);
    return nlohmann::json{{"name", name}, {"removed", true}};
  };
  auto server = ApiServer::start({"127.0.0.1", 0, true}, "", h);
  ASSERT_TRUE(server) << server.status().message();
  const std::string base = "http://127.0.0.1:" + std::to_string(server.value()->port());
  auto added = http_request("POST", base + "/streams", R"({"uri": "synthetic:", "name": "door"})");
  EXPECT_EQ(added.status, 202) << added.body;
  EXPECT_EQ(listed, std::vector<std::string>{"door"});
  EXPECT_TRUE(json_of(http_request("GET", base + "/streams"))["streams"].empty())
      << "it went to the fleet's list, not to this worker";
  EXPECT_EQ(http_request("POST", base + "/streams", R"({"uri": "synthetic:"})").status, 400);
  EXPECT_EQ(http_request("GET", base + "/fleet").status, 200);
  EXPECT_EQ(http_request("DELETE", base + "/fleet/streams/door").status, 200);
  EXPECT_EQ(http_request("DELETE", base + "/fleet/streams/other").status, 404);
  EXPECT_EQ(removed, std::vector<std::string>{"door"});
  auto wrong = http_request("POST", base + "/fleet");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.header("allow"), "GET");
  EXPECT_EQ(http_request("GET", base + "/fleet/streams/door").status, 405);
  // Not a fleet worker: /fleet is there to say so.
  start();
  auto alone = http_request("GET", base_ + "/fleet");
  EXPECT_EQ(alone.status, 404);
  EXPECT_NE(json_of(alone)["error"].get<std::string>().find("--fleet"), std::string::npos);
  EXPECT_EQ(http_request("DELETE", base_ + "/fleet/streams/door").status, 404);
}

TEST_F(HttpApi, BadRequestsGetAFourHundredAndOneLineJsonError) {
  start();
  const std::vector<std::tuple<std::string, std::string, std::string, int>> cases = {
      {"POST", "/streams", "{not json", 400},
      {"POST", "/streams", R"({"uri": "synthetic:", "x": 1})", 400},
      {"POST", "/streams", R"({"uri": "/no/such.mp4"})", 400},
      {"POST", "/streams", std::string(2 << 20, 'a'), 413},
      {"GET", "/streams/abc", "", 404},
      {"GET", "/streams/99999999999", "", 404},
      {"DELETE", "/streams/7", "", 404},
      {"GET", "/nowhere", "", 404},
      {"PUT", "/streams", "{}", 405},
      {"DELETE", "/streams", "", 405},
      {"GET", "/reload", "", 405},
      {"POST", "/metrics", "", 405},
  };
  for (const auto& [method, path, body, status] : cases) {
    auto r = http_request(method, base_ + path, body);
    EXPECT_EQ(r.status, status) << method << " " << path << ": " << r.body;
    const auto j = json_of(r);
    ASSERT_TRUE(j.is_object() && j.contains("error")) << method << " " << path << ": " << r.body;
    EXPECT_EQ(r.body.find('\n'), r.body.size() - 1) << "not one line: " << r.body;
  }
  EXPECT_EQ(json_of(http_request("GET", base_ + "/streams"))["streams"].size(), 0u)
      << "a bad request added a stream";
}

// What a web page in a browser could send to 127.0.0.1 without asking first (a form, text/plain)
// is refused, and so is a body of unknown length.
TEST_F(HttpApi, OnlyJsonBodiesOfAKnownLengthAreTaken) {
  start();
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded", ""}) {
    std::vector<std::string> headers;
    if (*type) headers.push_back(std::string("Content-Type: ") + type);
    auto r = test::http_request("POST", base_ + "/streams", R"({"uri": "synthetic:"})", headers);
    EXPECT_EQ(r.status, 415) << type << ": " << r.body;
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(server_->port()));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  const std::string chunked =
      "POST /streams HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n0\r\n\r\n";
  ASSERT_EQ(::send(fd, chunked.data(), chunked.size(), 0), static_cast<ssize_t>(chunked.size()));
  char answer[256] = {};
  const ssize_t n = ::recv(fd, answer, sizeof(answer) - 1, 0);
  ::close(fd);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(answer).rfind("HTTP/1.1 411", 0), 0u) << answer;
  EXPECT_EQ(json_of(http_request("GET", base_ + "/streams"))["streams"].size(), 0u);
}

TEST_F(HttpApi, ATokenGuardsEveryRouteButTheProbesAndMetrics) {
  start("s3cret-token");
  fake_.ready = true;
  EXPECT_EQ(http_request("GET", base_ + "/healthz").status, 200);
  EXPECT_EQ(http_request("GET", base_ + "/readyz").status, 200);
  EXPECT_EQ(http_request("GET", base_ + "/metrics").status, 200);
  auto refused = http_request("GET", base_ + "/streams");
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(refused.header("www-authenticate"), "Bearer");
  for (const char* path : {"/stats", "/streams/0", "/fleet"}) {
    EXPECT_EQ(http_request("GET", base_ + path, {}, {"Authorization: Bearer wrong"}).status, 401)
        << path;
  }
  EXPECT_EQ(http_request("DELETE", base_ + "/fleet/streams/a").status, 401);
  EXPECT_EQ(http_request("POST", base_ + "/reload").status, 401);
  EXPECT_EQ(http_request("POST", base_ + "/streams", R"({"uri": "synthetic:"})",
                         {"Authorization: Bearer s3cret-tokenX"})
                .status,
            401);
  EXPECT_EQ(
      http_request("GET", base_ + "/streams", {}, {"Authorization: Bearer s3cret-token"}).status,
      200);
}

TEST(ListenAddress, LoopbackIsToldFromOtherAddresses) {
  auto local = parse_listen_address("127.0.0.1:8080");
  ASSERT_TRUE(local);
  EXPECT_TRUE(local.value().loopback);
  EXPECT_EQ(local.value().port, 8080);
  EXPECT_TRUE(parse_listen_address("localhost:0").value().loopback);
  EXPECT_TRUE(parse_listen_address("[::1]:9000").value().loopback);
  EXPECT_FALSE(parse_listen_address("0.0.0.0:8080").value().loopback);
  EXPECT_FALSE(parse_listen_address("[::]:8080").value().loopback);
  EXPECT_FALSE(parse_listen_address("8080"));
  EXPECT_FALSE(parse_listen_address("127.0.0.1:70000"));
  EXPECT_FALSE(parse_listen_address("camera.local:80"));
  EXPECT_FALSE(parse_listen_address(":80"));
}

// A bounded run of random requests (fixed seed): routes, methods, bodies, sizes and broken
// encodings. Every answer is an HTTP status with a JSON body where the API wrote one, and the
// server still answers afterwards. The long count is scripts/api_fuzz.py's; this one runs under
// the sanitizers in CI.
TEST_F(HttpApi, RandomRequestsNeverBreakIt) {
  start();
  std::mt19937 random(20261207);
  const std::vector<std::string> methods = {"GET", "POST", "DELETE", "PUT", "PATCH", "HEAD"};
  const std::vector<std::string> paths = {"/streams", "/streams/0",  "/streams/-1", "/streams/1/x",
                                          "/stats",   "/metrics",    "/reload",     "/readyz",
                                          "/%ff%00",  "/streams/%20"};
  const auto random_bytes = [&](size_t n) {
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(random() & 0xff);
    return s;
  };
  for (int i = 0; i < 300; ++i) {
    const std::string& method = methods[random() % methods.size()];
    const std::string& path = paths[random() % paths.size()];
    std::string body;
    switch (random() % 5) {
      case 0:
        body = random_bytes(random() % 64);
        break;
      case 1:
        body = R"({"uri": "synthetic:?seed=)" + std::to_string(random() % 9) + "\"}";
        break;
      case 2:
        body = "{\"uri\": \"" + random_bytes(8) + "\"}";
        break;
      case 3:
        body = std::string(random() % 3 == 0 ? (1 << 20) + 1 : 1000, '{');
        break;
      default:
        break;
    }
    const auto r = http_request(method, base_ + path, body);
    ASSERT_GE(r.status, 200) << method << " " << path << " " << r.error;
    ASSERT_LT(r.status, 600);
    if (method != "HEAD" && r.status >= 400) {
      // /readyz's 503 says why in its own shape; every other failure is {"error": ...}.
      const auto j = json_of(r);
      EXPECT_TRUE(j.contains(path == "/readyz" && r.status == 503 ? "why" : "error"))
          << method << " " << path << ": " << r.body;
    }
  }
  EXPECT_EQ(http_request("GET", base_ + "/healthz").status, 200);
}

}  // namespace
}  // namespace streaminfer
