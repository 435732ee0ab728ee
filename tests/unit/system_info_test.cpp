#include "profile/system_info.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <vector>

namespace streaminfer {
namespace {

constexpr const char* kMissingNvml = "libstreaminfer-test-no-such-nvml.so.1";

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(SystemInfoTest, FieldsAreFilledOnThisMachine) {
  const SystemInfo info = collect_system_info(kMissingNvml);
  EXPECT_FALSE(info.cpu_model.empty());
  EXPECT_GE(info.hardware_threads, 1u);
  EXPECT_GE(info.affinity_cores, 1);
  EXPECT_FALSE(info.cpu_governor.empty());
  EXPECT_FALSE(info.cpu_cur_mhz.empty());
  EXPECT_FALSE(info.cpu_max_mhz.empty());
  EXPECT_GT(info.mem_total_bytes, 0);
  EXPECT_GT(info.mem_available_bytes, 0);
  EXPECT_LE(info.mem_available_bytes, info.mem_total_bytes);
  EXPECT_FALSE(info.os.empty());
  EXPECT_EQ(info.kernel.rfind("Linux ", 0), 0u) << info.kernel;
  EXPECT_FALSE(info.compiler.empty());
  EXPECT_FALSE(info.ffmpeg.empty());
}

TEST(SystemInfoTest, MissingNvmlMeansNoGpu) {
  const SystemInfo info = collect_system_info(kMissingNvml);
  EXPECT_EQ(info.gpu_status, "none (NVML not found)");
  EXPECT_TRUE(info.gpus.empty());
  bool found = false;
  for (const auto& line : lines_of(format_system_info(info))) {
    if (line.rfind("gpu:", 0) != 0) continue;
    found = true;
    EXPECT_EQ(line.substr(line.find_first_not_of(' ', 4)), "none (NVML not found)") << line;
  }
  EXPECT_TRUE(found);
}

TEST(SystemInfoTest, RealNvmlLookupGivesGpusOrSaysWhyNot) {
  const SystemInfo info = collect_system_info();
  if (info.gpu_status == "ok") {
    ASSERT_FALSE(info.gpus.empty());
    for (const auto& gpu : info.gpus) EXPECT_FALSE(gpu.name.empty());
  } else {
    EXPECT_EQ(info.gpu_status.rfind("none (", 0), 0u) << info.gpu_status;
    EXPECT_TRUE(info.gpus.empty());
  }
}

TEST(SystemInfoTest, FormatAlignsValuesAndAppendsExtrasInKeyOrder) {
  SystemInfo info = collect_system_info(kMissingNvml);
  info.extra["torch threads"] = "2";
  info.extra["libtorch"] = "2.3.0";
  const auto lines = lines_of(format_system_info(info));
  ASSERT_GE(lines.size(), 10u);
  size_t column = std::string::npos;
  for (const auto& line : lines) {
    const size_t colon = line.find(':');
    ASSERT_NE(colon, std::string::npos) << line;
    const size_t value = line.find_first_not_of(' ', colon + 1);
    ASSERT_NE(value, std::string::npos) << "empty value: " << line;
    if (column == std::string::npos) column = value;
    EXPECT_EQ(value, column) << "misaligned: " << line;
  }
  EXPECT_EQ(lines.front().rfind("cpu:", 0), 0u);
  EXPECT_EQ(lines[lines.size() - 2].rfind("libtorch:", 0), 0u);
  EXPECT_EQ(lines.back().rfind("torch threads:", 0), 0u);
  EXPECT_EQ(lines.back().substr(column), "2");
}

TEST(SystemInfoTest, FormatListsEachGpu) {
  SystemInfo info;
  info.gpu_status = "ok";
  info.gpu_driver = "550.54.15";
  GpuInfo gpu;
  gpu.name = "NVIDIA H100 80GB HBM3";
  gpu.sm_clock_mhz = 1980;
  gpu.mem_clock_mhz = 2619;
  gpu.pstate = 0;
  gpu.power_w = 70.5;
  info.gpus.push_back(gpu);
  const std::string text = format_system_info(info);
  const auto lines = lines_of(text);
  EXPECT_NE(std::find_if(lines.begin(), lines.end(),
                         [](const std::string& line) {
                           return line.rfind("gpu driver:", 0) == 0 &&
                                  line.find(" 550.54.15") != std::string::npos;
                         }),
            lines.end())
      << text;
  EXPECT_NE(text.find("NVIDIA H100 80GB HBM3, SM 1980 MHz, memory 2619 MHz, P0, 70.5 W"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("gpu: "), std::string::npos) << "no 'none' line when GPUs were found";
}

TEST(SystemInfoTest, JsonHasEveryField) {
  SystemInfo info = collect_system_info(kMissingNvml);
  info.extra["libtorch"] = "2.3.0";
  const nlohmann::json j = to_json(info);
  for (const char* key : {"cpu_model", "hardware_threads", "affinity_cores", "cpu_governor",
                          "cpu_cur_mhz", "cpu_max_mhz", "mem_total_bytes", "mem_available_bytes",
                          "os", "kernel", "compiler", "ffmpeg", "gpu_status", "gpus", "extra"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j.at("cpu_model"), info.cpu_model);
  EXPECT_EQ(j.at("mem_total_bytes"), info.mem_total_bytes);
  EXPECT_TRUE(j.at("gpus").is_array());
  EXPECT_TRUE(j.at("gpus").empty());
  EXPECT_EQ(j.at("extra").at("libtorch"), "2.3.0");
}

}  // namespace
}  // namespace streaminfer
