#include "profile/frame_csv.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "child_process.h"  // read_lines

namespace streaminfer {
namespace {

namespace fs = std::filesystem;
using test::read_lines;

class FrameCsvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("streaminfer_frame_csv_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

constexpr int64_t kRunStart = 7'000'000'000;

TEST_F(FrameCsvTest, WritesOneRowPerFrameWithEachStage) {
  const std::string path = (dir_ / "out" / frames_file_name("yolov8n", 42)).string();
  auto writer = FrameCsvWriter::open(path, kRunStart);
  ASSERT_TRUE(writer.is_ok()) << writer.status().message();
  EXPECT_EQ((*writer)->path(), path);

  BatchTimeline b;
  b.step = 5;
  FrameTimeline f;
  f.stream_id = 1;
  f.frame_index = 17;
  f.num_detections = 4;
  f.recall = 2.0 / 3.0;  // 4 decimals in the CSV
  const int64_t r = kRunStart;
  f.t.decode_start = r + 1'000'000;
  f.t.decode_end = r + 3'500'000;    // decode 2.5 ms
  f.t.batched = r + 4'000'000;       // queue wait 0.5
  f.t.prep_start = r + 10'000'000;   // batch wait 6
  f.t.prep_end = r + 10'250'000;     // preprocess 0.25
  f.t.infer_start = r + 11'000'000;  // inference wait 0.75
  f.t.infer_end = r + 31'000'000;    // exec 20
  f.t.post_start = r + 31'000'000;
  f.t.post_end = r + 32'123'456;  // post 1.123456, end to end 31.123456, done 32.123456
  b.frames.push_back(f);
  FrameTimeline g;  // decoded and batched, nothing after, no ground truth: empty cells, not zeros
  g.stream_id = 0;
  g.frame_index = 3;
  g.t.decode_start = r + 2'000'000;
  g.t.decode_end = r + 2'001'000;
  g.t.batched = r + 2'003'000;
  b.frames.push_back(g);
  (*writer)->write(b);
  ASSERT_TRUE((*writer)->close().is_ok());

  const auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0],
            "stream,frame,step,batch_size,decode_ms,queue_wait_ms,batch_wait_ms,preprocess_ms,"
            "inference_wait_ms,exec_ms,post_ms,end_to_end_ms,done_ms,detections,recall");
  EXPECT_EQ(lines[1], "1,17,5,2,2.500,0.500,6.000,0.250,0.750,20.000,1.123,31.123,32.123,4,0.6667");
  EXPECT_EQ(lines[2], "0,3,5,2,0.001,0.002,,,,,,,,0,");
}

TEST_F(FrameCsvTest, FileNameMatchesTheMetricsFile) {
  EXPECT_EQ(frames_file_name("yolov8n", 42), "F_yolov8n_P_42_frames.csv");
  EXPECT_EQ(frames_file_name("models/my net.torchscript", 7), "F_my_net_P_7_frames.csv");
  EXPECT_EQ(frames_file_name("", 1), "F_model_P_1_frames.csv");
}

TEST_F(FrameCsvTest, UnwritablePathIsAnError) {
  fs::create_directories(dir_);
  std::ofstream(dir_ / "file") << "x";
  auto writer = FrameCsvWriter::open((dir_ / "file" / "f.csv").string(), kRunStart);
  EXPECT_FALSE(writer.is_ok());
}

}  // namespace
}  // namespace streaminfer
