#include "source/reconnecting_source.h"

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>

#include "child_process.h"
#include "source/clip_writer.h"
#include "source/file_source.h"
#include "streaminfer/clock.h"

extern "C" {
#include <libavutil/frame.h>
}

namespace streaminfer {
namespace {

using namespace std::chrono_literals;

// A connection that yields `frames` frames, then ends with `end` (ok: the server closed it).
class ScriptedConnection : public Source {
 public:
  ScriptedConnection(int frames, Status end, int64_t decode_errors = 0)
      : frames_(frames), end_(std::move(end)), decode_errors_(decode_errors) {
    info_.uri = "rtsp://camera/1";
    info_.live = info_.self_paced = true;
  }
  Status next(FramePtr& out) override {
    if (frames_ == 0) return end_;
    --frames_;
    out = std::make_unique<Frame>();
    return Status::ok();
  }
  const SourceInfo& info() const override { return info_; }
  int64_t decode_errors() const override { return decode_errors_; }

 private:
  SourceInfo info_;
  int frames_;
  Status end_;
  int64_t decode_errors_;
};

SourceOptions fast_backoff(int max_reconnects) {
  SourceOptions options;
  options.max_reconnects = max_reconnects;
  options.reconnect_backoff_s = 0.001;
  options.reconnect_backoff_max_s = 0.004;
  return options;
}

struct Log {
  std::mutex mutex;
  std::vector<std::string> lines;
  ReconnectingSource::Logger logger() {
    return [this](const std::string& line) {
      std::lock_guard lock(mutex);
      lines.push_back(line);
    };
  }
};

int read_frames(Source& source, Status& end) {
  int frames = 0;
  while (true) {
    FramePtr frame;
    end = source.next(frame);
    if (!end || !frame) return frames;
    ++frames;
  }
}

TEST(ReconnectingSource, ContinuesWithANewConnectionAfterADrop) {
  std::deque<Result<std::unique_ptr<Source>>> connections;
  connections.emplace_back(Status::error("connection refused"));
  connections.emplace_back(std::make_unique<ScriptedConnection>(3, Status::error("gone")));
  Log log;
  ReconnectingSource source(
      std::make_unique<ScriptedConnection>(2, Status::ok(), 1),
      [&]() -> Result<std::unique_ptr<Source>> {
        if (connections.empty()) return Status::error("connection refused");
        auto next = std::move(connections.front());
        connections.pop_front();
        return next;
      },
      fast_backoff(3), log.logger());
  Status end;
  EXPECT_EQ(read_frames(source, end), 5);  // 2 before the drop, 3 after
  EXPECT_EQ(source.reconnects(), 1);
  EXPECT_EQ(source.decode_errors(), 1);  // the first connection's errors are kept
  ASSERT_FALSE(end);
  EXPECT_NE(end.message().find("did not come back after 3 reconnect attempt(s)"), std::string::npos)
      << end.message();
  EXPECT_NE(end.message().find("connection refused"), std::string::npos) << end.message();
  ASSERT_GE(log.lines.size(), 3u);
  EXPECT_NE(log.lines[0].find("dropped (the server closed the stream)"), std::string::npos);
  EXPECT_NE(log.lines[1].find("is back"), std::string::npos);
  EXPECT_NE(log.lines[1].find("2 attempt(s)"), std::string::npos);
  EXPECT_NE(log.lines[2].find("dropped (gone)"), std::string::npos);
}

TEST(ReconnectingSource, ZeroReconnectsFailsAtTheFirstDrop) {
  int opens = 0;
  Log log;
  ReconnectingSource source(
      std::make_unique<ScriptedConnection>(1, Status::error("reset by peer")),
      [&]() -> Result<std::unique_ptr<Source>> {
        ++opens;
        return std::unique_ptr<Source>(std::make_unique<ScriptedConnection>(1, Status::ok()));
      },
      fast_backoff(0), log.logger());
  Status end;
  EXPECT_EQ(read_frames(source, end), 1);
  EXPECT_FALSE(end);
  EXPECT_EQ(opens, 0);
  EXPECT_EQ(source.reconnects(), 0);
}

TEST(ReconnectingSource, InterruptEndsABackoffWaitAtOnce) {
  SourceOptions options;
  options.reconnect_backoff_s = 60;  // would wait a minute without the interrupt
  Log log;
  ReconnectingSource source(
      std::make_unique<ScriptedConnection>(0, Status::error("gone")),
      []() -> Result<std::unique_ptr<Source>> { return Status::error("refused"); }, options,
      log.logger());
  std::thread interrupter([&] {
    while (source.state() != "reconnecting") std::this_thread::sleep_for(5ms);
    source.interrupt();
  });
  const int64_t start = now_ns();
  FramePtr frame;
  const Status status = source.next(frame);
  interrupter.join();
  EXPECT_TRUE(status) << status.message();  // an interrupted stream ends cleanly
  EXPECT_EQ(frame, nullptr);
  EXPECT_LT(ns_to_ms(now_ns() - start), 10000.0);
  EXPECT_EQ(source.state(), "");
}

// Against a real RTSP server (GStreamer rtsp-server), through FFmpeg: a server that dies and
// comes back, then one that stops sending without closing the connection.
class RtspReconnect : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("streaminfer_rtsp_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    ClipOptions clip;
    clip.width = 320;
    clip.height = 240;
    clip.fps = 15;
    clip.frames = 15 * 60;
    clip.gop = 15;  // a key frame every second: a new client decodes within a second
    clip.objects = 2;
    ASSERT_TRUE(write_synthetic_clip((dir_ / "clip.mp4").string(), clip));
    server_ = std::make_unique<test::RtspTestServer>(dir_ / "clip.mp4", dir_);
    server_->start();
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  // What open_source() builds for the server's URL, with a logger of the test's own.
  std::unique_ptr<ReconnectingSource> open_live(const SourceOptions& options,
                                                ReconnectingSource::Logger logger) {
    auto first = FileSource::open(server_->url(), options);
    EXPECT_TRUE(first) << first.status().message();
    if (!first) return nullptr;
    return std::make_unique<ReconnectingSource>(
        std::move(first.value()),
        [this, options] { return FileSource::open(server_->url(), options); }, options,
        std::move(logger));
  }

  std::filesystem::path dir_;
  std::unique_ptr<test::RtspTestServer> server_;
};

TEST_F(RtspReconnect, FramesContinueAfterTheServerRestarts) {
  SourceOptions options;
  options.stall_timeout_s = 5;
  options.reconnect_backoff_s = 0.2;
  options.reconnect_backoff_max_s = 1;
  options.max_reconnects = 20;
  Log log;
  auto live = open_live(options, log.logger());
  ASSERT_NE(live, nullptr);
  ReconnectingSource& source = *live;
  EXPECT_TRUE(source.info().live);
  EXPECT_EQ(source.info().width, 320);

  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 5; ++i) {
      FramePtr frame;
      ASSERT_TRUE(source.next(frame));
      ASSERT_NE(frame, nullptr);
      EXPECT_EQ(frame->image->width, 320);
    }
    server_->kill();
    std::thread restarter([&] {
      std::this_thread::sleep_for(1s);
      server_->start();
    });
    // Frames already received come out first, then the drop, the reconnect and new frames.
    const int64_t before = source.reconnects();
    FramePtr frame;
    Status status;
    for (int i = 0; i < 300 && status && source.reconnects() == before; ++i) {
      status = source.next(frame);
    }
    if (status) status = source.next(frame);
    restarter.join();
    ASSERT_TRUE(status) << status.message();
    ASSERT_NE(frame, nullptr);
    EXPECT_EQ(source.reconnects(), before + 1);
  }
  EXPECT_EQ(source.reconnects(), 2);
}

TEST_F(RtspReconnect, TheStallClockStartsAtTheFirstReadNotAtOpen) {
  // Between open and the first frame the run loads and warms up the model; under a slow build
  // or a large model that outlasted --stall-timeout and the camera "dropped" before its first
  // frame.
  SourceOptions options;
  options.stall_timeout_s = 1;
  auto source = FileSource::open(server_->url(), options);
  ASSERT_TRUE(source) << source.status().message();
  std::this_thread::sleep_for(2s);
  FramePtr frame;
  const Status status = (*source)->next(frame);
  ASSERT_TRUE(status) << status.message();
  EXPECT_NE(frame, nullptr);
}

TEST_F(RtspReconnect, AStalledServerIsDetectedWithinTheTimeout) {
  SourceOptions options;
  options.stall_timeout_s = 1.5;
  options.reconnect_backoff_s = 0.2;
  options.reconnect_backoff_max_s = 0.5;
  options.max_reconnects = 10;
  Log log;
  int64_t dropped_at = 0;
  auto logger = [&](const std::string& line) {
    if (line.find("dropped") != std::string::npos && dropped_at == 0) dropped_at = now_ns();
    log.logger()(line);
  };
  auto live = open_live(options, logger);
  ASSERT_NE(live, nullptr);
  ReconnectingSource& source = *live;
  for (int i = 0; i < 5; ++i) {
    FramePtr frame;
    ASSERT_TRUE(source.next(frame));
    ASSERT_NE(frame, nullptr);
  }
  // Frames already buffered come out first; the stall counts from the last packet read.
  server_->freeze();
  const int64_t frozen_at = now_ns();
  std::thread thawer([&] {
    std::this_thread::sleep_for(5s);
    server_->thaw();
  });
  FramePtr frame;
  Status status;
  do {
    status = source.next(frame);
  } while (status && frame && dropped_at == 0);
  // After the drop, reading continues once the server runs again (max_reconnects bounds it).
  for (int i = 0; i < 10 && status && frame; ++i) status = source.next(frame);
  thawer.join();
  ASSERT_NE(dropped_at, 0) << "no drop was reported";
  const double detected_after_s = ns_to_ms(dropped_at - frozen_at) / 1000.0;
  EXPECT_GE(detected_after_s, 1.0);  // it was the stall timeout, not an error
  EXPECT_LE(detected_after_s, 1.5 + 3.0);
  {
    std::lock_guard lock(log.mutex);
    ASSERT_FALSE(log.lines.empty());
    EXPECT_NE(log.lines[0].find("no data from"), std::string::npos) << log.lines[0];
    EXPECT_NE(log.lines[0].find("stalled"), std::string::npos) << log.lines[0];
  }
  ASSERT_TRUE(status) << status.message();
  EXPECT_NE(frame, nullptr);
  EXPECT_GE(source.reconnects(), 1);
}

TEST(LiveSources, AnRtspUrlNobodyServesFailsAtOnceNamingIt) {
  SourceOptions options;
  options.stall_timeout_s = 2;
  const std::string url = "rtsp://127.0.0.1:" + std::to_string(test::free_loopback_port()) + "/x";
  auto source = open_source(url, options);
  ASSERT_FALSE(source);
  EXPECT_NE(source.status().message().find(url), std::string::npos) << source.status().message();
}

}  // namespace
}  // namespace streaminfer
