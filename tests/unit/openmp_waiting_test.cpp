#include "common/openmp_waiting.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace streaminfer {
namespace {

// The process's own variables, put back after each test (others run in the same process).
class SavedEnv {
 public:
  explicit SavedEnv(const char* name) : name_(name) {
    if (const char* v = std::getenv(name)) value_ = v;
    had_ = std::getenv(name) != nullptr;
  }
  ~SavedEnv() { had_ ? setenv(name_, value_.c_str(), 1) : unsetenv(name_); }

 private:
  const char* name_;
  std::string value_;
  bool had_ = false;
};

// The re-exec itself is tested end to end (bench contention's streaminfer's-choice run says
// "set by streaminfer"); here, the cases where it must not happen: it returns.
TEST(OpenMpWaiting, AUsersVariableOrTheMarkerMeansNoRestart) {
  char arg0[] = "streaminfer";
  char* argv[] = {arg0, nullptr};
  for (const char* entry :
       {"OMP_WAIT_POLICY=active", "GOMP_SPINCOUNT=5000", "STREAMINFER_OPENMP_WAITING=short-spin"}) {
    std::string copy = entry;
    char* envp[] = {copy.data(), nullptr};
    choose_openmp_waiting(argv, envp);  // an exec here would replace the test program
    SUCCEED() << entry;
  }
  choose_openmp_waiting(nullptr, nullptr);
}

TEST(OpenMpWaiting, TheSystemBlockSaysWhoChose) {
  const SavedEnv policy("OMP_WAIT_POLICY"), spin("GOMP_SPINCOUNT"),
      marker("STREAMINFER_OPENMP_WAITING");
  unsetenv("OMP_WAIT_POLICY");
  unsetenv("GOMP_SPINCOUNT");
  unsetenv("STREAMINFER_OPENMP_WAITING");
  EXPECT_EQ(openmp_waiting_description(),
            "libgomp's default (spin about 300000 rounds, then sleep)");
  EXPECT_FALSE(openmp_waiting_chosen_by_streaminfer());
  setenv("OMP_WAIT_POLICY", "passive", 1);
  EXPECT_EQ(openmp_waiting_description(), "OMP_WAIT_POLICY=passive (from the environment)");
  unsetenv("OMP_WAIT_POLICY");
  setenv("GOMP_SPINCOUNT", "1000", 1);
  setenv("STREAMINFER_OPENMP_WAITING", "short-spin", 1);
  EXPECT_TRUE(openmp_waiting_chosen_by_streaminfer());
  EXPECT_EQ(openmp_waiting_description().rfind("GOMP_SPINCOUNT=1000: ", 0), 0u)
      << openmp_waiting_description();
  EXPECT_NE(openmp_waiting_description().find("set by streaminfer"), std::string::npos)
      << openmp_waiting_description();
}

}  // namespace
}  // namespace streaminfer
