#include "profile/metrics_csv.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "child_process.h"  // read_lines

namespace streaminfer {
namespace {

namespace fs = std::filesystem;
using test::read_lines;

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> cells;
  std::string cell;
  std::istringstream in(line);
  while (std::getline(in, cell, sep)) cells.push_back(cell);
  if (!line.empty() && line.back() == sep) cells.emplace_back();  // trailing empty cell
  return cells;
}

class MetricsCsvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("streaminfer_csv_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(MetricsCsvTest, WritesHeaderAndParseableRows) {
  const std::string path = (dir_ / "nested" / "M_yolo_P_1_metrics.csv").string();
  auto writer = MetricsCsvWriter::open(path);
  ASSERT_TRUE(writer.is_ok()) << writer.status().message();
  EXPECT_EQ((*writer)->path(), path);

  BatchRecord r;
  r.step = 0;
  r.read_ms = 1.23456;
  r.prep_ms = 2;
  r.exec_ms = 30.5;
  r.post_ms = 0.0004;
  r.total_ms = 33.73496;
  r.batch_size = 4;
  r.start_ms = 1000.25;
  r.streams = "0;1;0;1";
  (*writer)->write(r);
  r.step = 1;
  TrainStepRecord train;
  train.loss = 0.5;
  train.box = 0.25;
  train.cls = 0.125;
  train.dfl = 0.125;
  train.forward_ms = 10.5;
  train.backward_ms = 20.25;
  train.optimizer_ms = 1.5;
  r.train = train;
  r.batch_size = 2;
  r.streams = "1;0";
  (*writer)->write(r);
  ASSERT_TRUE((*writer)->close().is_ok());

  const auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0],
            "step,read_latency_ms,prep_latency_ms,exec_latency_ms,post_latency_ms,"
            "total_step_latency_ms,batch_size,loss,start_ms,streams,box_loss,cls_loss,dfl_loss,"
            "forward_ms,backward_ms,optimizer_ms");
  EXPECT_EQ(lines[1], "0,1.235,2.000,30.500,0.000,33.735,4,,1000.250,0;1;0;1,,,,,,");
  for (const auto& line : lines) EXPECT_EQ(split(line, ',').size(), 16u) << line;

  const auto second = split(lines[2], ',');
  EXPECT_EQ(second[0], "1");
  EXPECT_EQ(std::stod(second[7]), 0.5);
  EXPECT_EQ(second[6], "2");
  EXPECT_EQ(second[9], "1;0");
  EXPECT_EQ(std::stod(second[10]), 0.25);
  EXPECT_EQ(std::stod(second[11]), 0.125);
  EXPECT_EQ(std::stod(second[12]), 0.125);
  EXPECT_EQ(second[13], "10.500");
  EXPECT_EQ(second[14], "20.250");
  EXPECT_EQ(second[15], "1.500");
}

TEST_F(MetricsCsvTest, EmptyLossCellWhenNoLoss) {
  const std::string path = (dir_ / "m.csv").string();
  auto writer = MetricsCsvWriter::open(path);
  ASSERT_TRUE(writer.is_ok());
  BatchRecord r;
  r.streams = "0";
  (*writer)->write(r);
  ASSERT_TRUE((*writer)->close().is_ok());
  const auto cells = split(read_lines(path).at(1), ',');
  ASSERT_EQ(cells.size(), 16u);
  EXPECT_EQ(cells[7], "");
  for (size_t c = 10; c < 16; ++c) EXPECT_EQ(cells[c], "") << "column " << c;
}

TEST_F(MetricsCsvTest, OpenErrorNamesThePath) {
  fs::create_directories(dir_);
  const fs::path blocker = dir_ / "not_a_dir";
  std::ofstream(blocker) << "x";
  const std::string path = (blocker / "m.csv").string();
  auto writer = MetricsCsvWriter::open(path);
  ASSERT_FALSE(writer.is_ok());
  EXPECT_NE(writer.status().message().find(path), std::string::npos) << writer.status().message();
  EXPECT_EQ(writer.status().message().find('\n'), std::string::npos) << "one line";
}

TEST(MetricsFileNameTest, SanitizesAndUsesStem) {
  EXPECT_EQ(metrics_file_name("yolov8n", 42), "M_yolov8n_P_42_metrics.csv");
  EXPECT_EQ(metrics_file_name("models/yolov8s.torchscript", 7), "M_yolov8s_P_7_metrics.csv");
  EXPECT_EQ(metrics_file_name("/abs/path/my model+v2.pt", 1), "M_my_model_v2_P_1_metrics.csv");
  EXPECT_EQ(metrics_file_name("models/yolo/", 3), "M_yolo_P_3_metrics.csv");
  EXPECT_EQ(metrics_file_name("", 3), "M_model_P_3_metrics.csv");
  EXPECT_EQ(metrics_file_name("tiny-v1_x", 3), "M_tiny-v1_x_P_3_metrics.csv");
}

}  // namespace
}  // namespace streaminfer
