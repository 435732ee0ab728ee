// CPU clock reading for `bench idle-gap` against fake sysfs / cpuinfo trees (the real machine may
// have either, both or neither), and the NVML clock sampler without NVML.
#include "profile/cpu_frequency.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "profile/gpu_clock_sampler.h"

namespace streaminfer {
namespace {

namespace fs = std::filesystem;

class CpuFrequencyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("streaminfer_cpu_frequency_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "cpu");
  }
  void TearDown() override { fs::remove_all(dir_); }

  static void write(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
  }
  std::string sysfs() const { return (dir_ / "cpu").string(); }
  std::string cpuinfo() const { return (dir_ / "cpuinfo").string(); }

  fs::path dir_;
};

constexpr const char* kCpuinfo =
    "processor\t: 0\n"
    "model name\t: Test CPU\n"
    "cpu MHz\t\t: 2096.026\n"
    "\n"
    "processor\t: 1\n"
    "model name\t: Test CPU\n"
    "cpu MHz\t\t: 3400.500\n"
    "\n";

TEST_F(CpuFrequencyTest, SysfsIsPreferredAndReadInMhz) {
  write(dir_ / "cpu" / "cpu0" / "cpufreq" / "scaling_cur_freq", "2400000\n");
  write(dir_ / "cpu" / "cpu1" / "cpufreq" / "scaling_cur_freq", "800000\n");
  write(dir_ / "cpuinfo", kCpuinfo);
  const CpuFrequencyReader reader(sysfs(), cpuinfo());
  EXPECT_EQ(reader.source(), CpuFrequencyReader::Source::kSysfs);
  EXPECT_TRUE(reader.available());
  EXPECT_DOUBLE_EQ(reader.mhz(0), 2400.0);
  EXPECT_DOUBLE_EQ(reader.mhz(1), 800.0);
  EXPECT_DOUBLE_EQ(reader.mhz(2), -1.0);
  EXPECT_EQ(reader.all_mhz(), (std::vector<double>{2400.0, 800.0}));
  EXPECT_NE(reader.describe().find("scaling_cur_freq"), std::string::npos);
}

TEST_F(CpuFrequencyTest, FallsBackToProcCpuinfo) {
  fs::create_directories(dir_ / "cpu" / "cpu0");  // a core without cpufreq, as in most VMs
  write(dir_ / "cpuinfo", kCpuinfo);
  const CpuFrequencyReader reader(sysfs(), cpuinfo());
  EXPECT_EQ(reader.source(), CpuFrequencyReader::Source::kProcCpuinfo);
  EXPECT_DOUBLE_EQ(reader.mhz(0), 2096.026);
  EXPECT_DOUBLE_EQ(reader.mhz(1), 3400.5);
  EXPECT_DOUBLE_EQ(reader.mhz(7), -1.0);
  EXPECT_DOUBLE_EQ(reader.mhz(-1), -1.0);
  EXPECT_EQ(reader.all_mhz().size(), 2u);
  EXPECT_NE(reader.describe().find("/proc/cpuinfo"), std::string::npos);
}

TEST_F(CpuFrequencyTest, NeitherSourceSaysUnavailable) {
  write(dir_ / "cpuinfo", "processor\t: 0\nmodel name\t: No Clock CPU\n\n");  // ARM-like
  const CpuFrequencyReader reader(sysfs(), cpuinfo());
  EXPECT_EQ(reader.source(), CpuFrequencyReader::Source::kNone);
  EXPECT_FALSE(reader.available());
  EXPECT_DOUBLE_EQ(reader.mhz(0), -1.0);
  EXPECT_DOUBLE_EQ(reader.current_core_mhz(), -1.0);
  EXPECT_TRUE(reader.all_mhz().empty());
  EXPECT_EQ(reader.describe().rfind("unavailable", 0), 0u) << reader.describe();
}

TEST_F(CpuFrequencyTest, MissingPathsSayUnavailable) {
  const CpuFrequencyReader reader((dir_ / "no-such-dir").string(), (dir_ / "no-such").string());
  EXPECT_FALSE(reader.available());
  EXPECT_DOUBLE_EQ(reader.mhz(0), -1.0);
}

TEST(CpuFrequencyMachineTest, ThisMachineReadsAClockOrSaysUnavailable) {
  const CpuFrequencyReader reader;
  if (reader.available()) {
    EXPECT_GT(reader.current_core_mhz(), 0.0) << reader.describe();
    EXPECT_FALSE(reader.all_mhz().empty());
  } else {
    EXPECT_DOUBLE_EQ(reader.current_core_mhz(), -1.0);
  }
}

TEST(GpuClockSamplerTest, MissingNvmlSamplesNothing) {
  const GpuClockSampler sampler("libstreaminfer-test-no-such-nvml.so.1");
  EXPECT_FALSE(sampler.available());
  EXPECT_EQ(sampler.status(), "none (NVML not found)");
  const GpuClockSample s = sampler.sample();
  EXPECT_EQ(s.sm_clock_mhz, -1);
  EXPECT_EQ(s.pstate, -1);
}

TEST(GpuClockSamplerTest, RealNvmlGivesAClockOrSaysWhyNot) {
  const GpuClockSampler sampler;
  if (sampler.available()) {
    EXPECT_EQ(sampler.status().rfind("GPU 0", 0), 0u) << sampler.status();
    EXPECT_GE(sampler.sample().pstate, 0);
  } else {
    EXPECT_EQ(sampler.status().rfind("none (", 0), 0u) << sampler.status();
  }
}

}  // namespace
}  // namespace streaminfer
