#include "common/openmp_waiting.h"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

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

// What choose_openmp_waiting() does in a forked child with `env` (and the sanitizers' options
// of this process): the child's exit code, 42 when the call returned (no re-exec). A re-exec
// starts this test program again (/proc/self/exe) with a filter that runs only
// InTheRestartedProgram: 0 when the variables it was given are right, 1 when not.
int child_exit_code(std::vector<std::string> env) {
  for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS"}) {
    if (const char* value = std::getenv(name)) env.push_back(std::string(name) + "=" + value);
  }
  const pid_t pid = fork();
  if (pid == 0) {
    char arg0[] = "unit_tests";
    char filter[] = "--gtest_filter=OpenMpWaiting.InTheRestartedProgram";
    char* argv[] = {arg0, filter, nullptr};
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    choose_openmp_waiting(argv, envp.data());
    _exit(42);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Run by the restarted program of the cases below; skipped in a normal run.
TEST(OpenMpWaiting, InTheRestartedProgram) {
  const char* marker = std::getenv("STREAMINFER_OPENMP_WAITING");
  if (marker == nullptr) GTEST_SKIP() << "only in a program that choose_openmp_waiting started";
  EXPECT_STREQ(marker, "short-spin");
  ASSERT_NE(std::getenv("GOMP_SPINCOUNT"), nullptr);
  EXPECT_STREQ(std::getenv("GOMP_SPINCOUNT"), "1000");
  EXPECT_STREQ(std::getenv("PATH"), "/usr/bin:/bin");  // the rest of the environment is kept
}

TEST(OpenMpWaiting, AUsersVariableOrTheMarkerMeansNoRestart) {
  for (const char* entry :
       {"OMP_WAIT_POLICY=active", "GOMP_SPINCOUNT=5000", "STREAMINFER_OPENMP_WAITING=short-spin"}) {
    EXPECT_EQ(child_exit_code({"PATH=/usr/bin:/bin", entry}), 42) << entry;
  }
  choose_openmp_waiting(nullptr, nullptr);  // returns
}

TEST(OpenMpWaiting, WithoutAnyTheProgramStartsAgainWithTheShortSpin) {
  EXPECT_EQ(child_exit_code({"PATH=/usr/bin:/bin"}), 0);
  // An empty value is not a choice.
  EXPECT_EQ(child_exit_code({"PATH=/usr/bin:/bin", "OMP_WAIT_POLICY="}), 0);
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
