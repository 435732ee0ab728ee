#include "common/path_guard.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "child_process.h"  // read_file

namespace streaminfer {
namespace {

namespace fs = std::filesystem;

class PathGuard : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("streaminfer_path_guard_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "video.mp4") << "frames";
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string at(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

TEST_F(PathGuard, AnOutputThatIsAnInputUnderAnotherSpellingIsRefused) {
  fs::create_directories(dir_ / "sub");
  PathPlan plan;
  plan.input("--source", at("video.mp4"));
  plan.output("--output", at("sub/../video.mp4"));
  const Status status = plan.check_clashes();
  ASSERT_FALSE(status);
  EXPECT_NE(status.message().find("--output"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("--source"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("destroy"), std::string::npos) << status.message();
}

TEST_F(PathGuard, LinksAndHardLinksAreTheSameFile) {
  fs::create_symlink(dir_ / "video.mp4", dir_ / "link.jsonl");
  fs::create_hard_link(dir_ / "video.mp4", dir_ / "hard.jsonl");
  for (const char* name : {"link.jsonl", "hard.jsonl"}) {
    PathPlan plan;
    plan.input("--source", at("video.mp4"));
    plan.output("--output", at(name));
    EXPECT_FALSE(plan.check_clashes()) << name;
  }
}

TEST_F(PathGuard, TwoOutputsOfOneNewFileAreRefusedAndInputsMayShare) {
  PathPlan outputs;
  outputs.output("--output", at("run.json"));
  outputs.output("--trace", at("./run.json"));
  const Status status = outputs.check_clashes();
  ASSERT_FALSE(status);
  EXPECT_NE(status.message().find("each would overwrite the other"), std::string::npos);

  PathPlan inputs;
  inputs.input("--source", at("video.mp4"));
  inputs.input("--source", at("video.mp4"));
  inputs.output("-", "-");  // stdout is no file
  inputs.output("--output", "-");
  EXPECT_TRUE(inputs.check_clashes()) << inputs.check_clashes().message();
}

TEST_F(PathGuard, WritabilityIsCheckedWithoutChangingAnything) {
  std::ofstream(dir_ / "old.jsonl") << "kept\n";
  PathPlan plan;
  plan.output("--output", at("old.jsonl"));
  plan.output("--trace", at("new/dir/trace.json"));
  plan.output_folder("--metrics-dir", at("metrics"));
  ASSERT_TRUE(plan.check_writable()) << plan.check_writable().message();
  EXPECT_EQ(test::read_file(dir_ / "old.jsonl"), "kept\n") << "an existing output is not touched";
  EXPECT_FALSE(fs::exists(dir_ / "new/dir/trace.json")) << "a new output is not left behind";
  EXPECT_TRUE(fs::is_directory(dir_ / "new/dir")) << "its folder is made, as the run would";
  EXPECT_TRUE(fs::is_directory(dir_ / "metrics"));
  EXPECT_TRUE(fs::is_empty(dir_ / "metrics"));
}

TEST_F(PathGuard, OutputsThatCannotBeWrittenAreNamed) {
  PathPlan under_a_file;
  under_a_file.output("--retrain-save", at("video.mp4/tuned.pt"));
  Status status = under_a_file.check_writable();
  ASSERT_FALSE(status);
  EXPECT_NE(status.message().find("--retrain-save"), std::string::npos) << status.message();

  PathPlan folder_as_file;
  folder_as_file.output_folder("--metrics-dir", at("video.mp4"));
  status = folder_as_file.check_writable();
  ASSERT_FALSE(status);
  EXPECT_NE(status.message().find("not a folder"), std::string::npos) << status.message();

  fs::create_directories(dir_ / "a_folder");
  PathPlan file_as_folder;
  file_as_folder.output("--output", at("a_folder"));
  status = file_as_folder.check_writable();
  ASSERT_FALSE(status);
  EXPECT_NE(status.message().find("is a folder"), std::string::npos) << status.message();

  PathPlan in_proc;
  in_proc.output("--output", "/proc/streaminfer_nothing/det.jsonl");
  EXPECT_FALSE(in_proc.check_writable());
}

TEST(LocalFileUri, OnlyPathsAreFiles) {
  EXPECT_TRUE(is_local_file_uri("video.mp4"));
  EXPECT_TRUE(is_local_file_uri("/data/cam 1.mkv"));
  EXPECT_FALSE(is_local_file_uri("synthetic:?seed=1"));
  EXPECT_FALSE(is_local_file_uri("rtsp://10.0.0.5/1"));
  EXPECT_FALSE(is_local_file_uri("https://host/v.mp4"));
  EXPECT_FALSE(is_local_file_uri("/dev/video0"));
  EXPECT_FALSE(is_local_file_uri("camera:0"));
  EXPECT_FALSE(is_local_file_uri("-"));
  EXPECT_FALSE(is_local_file_uri(""));
}

}  // namespace
}  // namespace streaminfer
