#include "common/atomic_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "child_process.h"  // read_file

namespace streaminfer {
namespace {

namespace fs = std::filesystem;

TEST(AtomicFile, ReplacesWholeAndLeavesNothingAside) {
  const fs::path dir =
      fs::temp_directory_path() / ("streaminfer_atomic_" + std::to_string(getpid()));
  fs::remove_all(dir);
  const std::string path = (dir / "sub" / "summary.json").string();
  ASSERT_TRUE(write_file_atomically(path, "{\"a\":1}\n", "summary"));
  EXPECT_EQ(test::read_file(path), "{\"a\":1}\n");
  ASSERT_TRUE(write_file_atomically(path, "{\"a\":2}\n", "summary"));
  EXPECT_EQ(test::read_file(path), "{\"a\":2}\n");
  size_t files = 0;
  for (const auto& entry : fs::directory_iterator(dir / "sub")) {
    ++files;
    EXPECT_EQ(entry.path().filename(), "summary.json");
  }
  EXPECT_EQ(files, 1u);
  EXPECT_NE(partial_path_of(path).find(path + ".partial."), std::string::npos);

  std::ofstream(dir / "file") << "x";
  const Status failed = write_file_atomically((dir / "file" / "x.json").string(), "{}", "report");
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.message().find("cannot write report"), std::string::npos) << failed.message();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace streaminfer
