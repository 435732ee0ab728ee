#include "config/run_options.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "config/run_option_table.h"

namespace streaminfer {
namespace {

namespace fs = std::filesystem;

class RunOptionsYaml : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (fs::temp_directory_path() /
             ("streaminfer_run_options_" + std::to_string(getpid()) + ".yaml"))
                .string();
  }
  void TearDown() override { fs::remove(path_); }
  Status load(const std::string& text, RunOptions& options) {
    std::ofstream(path_) << text;
    return load_run_options_yaml(path_, options);
  }
  std::string path_;
};

TEST_F(RunOptionsYaml, NegatableFlagsTakeBothSpellings) {
  RunOptions a, b;
  ASSERT_TRUE(load("source: [x.mp4]\nno-progress: true\n", a));
  EXPECT_FALSE(a.progress);
  ASSERT_TRUE(load("source: x.mp4\nprogress: false\n", b));
  EXPECT_FALSE(b.progress);
  EXPECT_EQ(b.sources, std::vector<std::string>{"x.mp4"});
  EXPECT_EQ(b.config, path_);
}

TEST_F(RunOptionsYaml, OneOptionTwiceUnderAnySpellingIsAnError) {
  RunOptions o;
  Status status = load("source: [x.mp4]\nbatch_size: 2\nbatch-size: 4\n", o);
  ASSERT_FALSE(status);
  EXPECT_NE(status.message().find("set twice (lines 2 and 3)"), std::string::npos)
      << status.message();
  status = load("source: [x.mp4]\nprogress: true\nno_progress: true\n", o);
  ASSERT_FALSE(status);
  EXPECT_NE(status.message().find("set twice"), std::string::npos) << status.message();
}

TEST_F(RunOptionsYaml, EmptyFilesAndEmptySourceListsAreErrorsNotTheDemo) {
  RunOptions o;
  Status status = load("# only a comment\n", o);
  ASSERT_FALSE(status);
  EXPECT_NE(status.message().find("empty"), std::string::npos) << status.message();
  status = load("source: []\n", o);
  ASSERT_FALSE(status);
  EXPECT_NE(status.message().find("'source' is an empty list (line 1)"), std::string::npos)
      << status.message();

  RunOptions no_sources;
  ASSERT_TRUE(load("batch-size: 2\n", no_sources));
  status = validate(no_sources);
  ASSERT_FALSE(status);
  EXPECT_NE(status.message().find("lists no source"), std::string::npos) << status.message();
  EXPECT_TRUE(sources_to_run(no_sources).empty());
  EXPECT_EQ(sources_to_run(RunOptions{}), default_sources()) << "neither: the demo job";
}

TEST_F(RunOptionsYaml, WrongTypesAndUnknownKeysNameKeyAndLine) {
  RunOptions o;
  Status status = load("source: [x.mp4]\nbatch-size: [1, 2]\n", o);
  ASSERT_FALSE(status);
  EXPECT_NE(status.message().find("'batch-size' has a value of the wrong type (line 2)"),
            std::string::npos)
      << status.message();
  status = load("source: [x.mp4]\n\nbatchsiz: 2\n", o);
  ASSERT_FALSE(status);
  EXPECT_NE(status.message().find("unknown key 'batchsiz' (line 3)"), std::string::npos)
      << status.message();
}

TEST(RunOptionsValidate, ChecksAcrossOptions) {
  RunOptions o;
  o.micro_batch = 16;
  o.batch_size = 2;
  Status status = validate(o);
  ASSERT_FALSE(status);
  EXPECT_NE(status.message().find("--micro-batch 16: more than --batch-size 2"), std::string::npos)
      << status.message();
  o.micro_batch = 2;
  EXPECT_TRUE(validate(o)) << validate(o).message();
  o.threads = 100000;
  EXPECT_FALSE(validate(o));
  o.threads = 0;
  o.imgsz = 33;
  EXPECT_FALSE(validate(o));
  o.imgsz = 0;
  o.conf = std::numeric_limits<float>::quiet_NaN();
  EXPECT_FALSE(validate(o)) << "NaN is in no range";
}

TEST(RunOptionsValidate, ThreadsAboveTheCoresAreWarnedAbout) {
  EXPECT_EQ(threads_warning(0, 2), "");
  EXPECT_EQ(threads_warning(2, 2), "");
  EXPECT_NE(threads_warning(256, 2).find("--threads 256"), std::string::npos);
}

TEST(RunOptionTable, EveryOptionIsFoundByItsFlagAndYamlSpellings) {
  for (const auto& spec : run_option_table()) {
    EXPECT_EQ(find_run_option(spec.name), &spec) << spec.name;
    std::string underscored = spec.name;
    std::replace(underscored.begin(), underscored.end(), '-', '_');
    EXPECT_EQ(find_run_option(underscored), &spec) << underscored;
    bool negated = false;
    EXPECT_EQ(find_run_option("no-" + spec.name, &negated) != nullptr, spec.negatable) << spec.name;
    EXPECT_FALSE(spec.help.empty()) << spec.name;
    // Every default passes its own check: what --help shows is a valid value.
    EXPECT_TRUE(check_run_option(spec, RunOptions{})) << spec.name;
  }
  EXPECT_EQ(find_run_option("no-such-option"), nullptr);
  EXPECT_EQ(find_run_option("no-batch-size"), nullptr) << "only booleans have a no- form";
}

}  // namespace
}  // namespace streaminfer
