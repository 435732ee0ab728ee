#include "profile/cpu_affinity.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace streaminfer {
namespace {

using Cores = std::vector<int>;

Cores parsed(const std::string& text) {
  auto cores = parse_core_list(text);
  EXPECT_TRUE(cores.is_ok()) << text << ": " << cores.status().message();
  return cores.is_ok() ? cores.value() : Cores{};
}

std::string parse_error(const std::string& text) {
  auto cores = parse_core_list(text);
  EXPECT_FALSE(cores.is_ok()) << "'" << text << "' should not parse";
  const std::string message = cores.status().message();
  EXPECT_EQ(message.find('\n'), std::string::npos) << "one line: " << message;
  return message;
}

Cores thread_cores(pid_t tid) {
  cpu_set_t set;
  CPU_ZERO(&set);
  Cores cores;
  if (sched_getaffinity(tid, sizeof(set), &set) != 0) return cores;
  for (int core = 0; core < CPU_SETSIZE; ++core)
    if (CPU_ISSET(core, &set)) cores.push_back(core);
  return cores;
}

bool has_core_zero(const Cores& cores) {
  return std::find(cores.begin(), cores.end(), 0) != cores.end();
}

TEST(CoreListTest, ParsesRangesAndLists) {
  EXPECT_EQ(parsed("0-3"), (Cores{0, 1, 2, 3}));
  EXPECT_EQ(parsed("0,2,4-5"), (Cores{0, 2, 4, 5}));
  EXPECT_EQ(parsed("7"), (Cores{7}));
  EXPECT_EQ(parsed(" 3 , 0-1,1"), (Cores{0, 1, 3})) << "sorted, no duplicates";
  EXPECT_EQ(parsed("2-2"), (Cores{2}));
}

TEST(CoreListTest, RejectsMalformedLists) {
  EXPECT_NE(parse_error("3-1").find("reversed"), std::string::npos);
  EXPECT_NE(parse_error("a").find("'a'"), std::string::npos);
  EXPECT_NE(parse_error("").find("empty"), std::string::npos);
  parse_error("  ");
  parse_error("1-");
  parse_error("-1");
  parse_error("1,,2");
  parse_error("0-3,");
  parse_error("1.5");
  parse_error("99999999999999");
  parse_error("0-100000");
}

TEST(CoreListTest, FormatsAsRanges) {
  EXPECT_EQ(format_core_list({0, 1, 2, 3, 6, 8, 9}), "0-3,6,8-9");
  EXPECT_EQ(format_core_list({5, 1, 1}), "1,5");
  EXPECT_EQ(format_core_list({}), "");
  EXPECT_EQ(parsed(format_core_list({0, 2, 3, 4})), (Cores{0, 2, 3, 4}));
}

// In a thread of its own, so the test process's other threads keep their cores whatever happens.
TEST(CoreBindingTest, BindsCurrentThreadToCoreZeroAndRestores) {
  std::thread worker([] {
    const Cores original = current_thread_cores();
    ASSERT_FALSE(original.empty());
    if (!has_core_zero(original)) GTEST_SKIP() << "core 0 is not available to this process";
    auto granted = bind_current_thread_to_cores({0});
    ASSERT_TRUE(granted.is_ok()) << granted.status().message();
    EXPECT_EQ(granted.value(), Cores{0});
    EXPECT_EQ(current_thread_cores(), Cores{0});
    auto restored = bind_current_thread_to_cores(original);
    ASSERT_TRUE(restored.is_ok()) << restored.status().message();
    EXPECT_EQ(restored.value(), original);
  });
  worker.join();
}

TEST(CoreBindingTest, NamesCoresThisMachineLacks) {
  const Cores before = current_thread_cores();
  const int missing = static_cast<int>(sysconf(_SC_NPROCESSORS_CONF)) + 3;
  auto granted = bind_current_thread_to_cores({0, missing, missing + 1});
  ASSERT_FALSE(granted.is_ok());
  const std::string message = granted.status().message();
  EXPECT_NE(message.find(std::to_string(missing) + "-" + std::to_string(missing + 1)),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("do not exist"), std::string::npos) << message;
  EXPECT_EQ(current_thread_cores(), before) << "a refused binding changes nothing";
  EXPECT_FALSE(bind_current_thread_to_cores({}).is_ok());
  EXPECT_FALSE(bind_process_to_cores({missing}).is_ok());
}

TEST(CoreBindingTest, BindsEveryThreadOfTheProcess) {
  const Cores original = current_thread_cores();
  if (!has_core_zero(original)) GTEST_SKIP() << "core 0 is not available to this process";
  // A thread that exists before the call must be bound too, not only threads started later.
  std::mutex mutex;
  std::condition_variable cv;
  pid_t helper_tid = 0;
  bool checked = false;
  std::thread helper([&] {
    std::unique_lock lock(mutex);
    helper_tid = gettid();
    cv.notify_all();
    cv.wait(lock, [&] { return checked; });
  });
  {
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return helper_tid != 0; });
  }
  const Status status = bind_process_to_cores({0});
  EXPECT_TRUE(status.is_ok()) << status.message();
  EXPECT_EQ(current_thread_cores(), Cores{0});
  EXPECT_EQ(thread_cores(helper_tid), Cores{0});
  {
    std::lock_guard lock(mutex);
    checked = true;
  }
  cv.notify_all();
  helper.join();
  ASSERT_TRUE(bind_process_to_cores(original).is_ok());
  EXPECT_EQ(current_thread_cores(), original);
}

}  // namespace
}  // namespace streaminfer
