// The precision probe runs a forward in a child process (this test binary, re-executed): it must
// never take the parent down, must say why when a precision cannot run, and must cache verdicts.
#include "infer/precision_probe.h"

#include <gtest/gtest.h>
#include <torch/types.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "infer/backend.h"
#include "infer/precision_probe_child.h"

namespace streaminfer {
namespace {

namespace fs = std::filesystem;

class ProbeCacheDir {
 public:
  ProbeCacheDir()
      : path_(fs::temp_directory_path() /
              ("streaminfer_probe_" + std::to_string(getpid()) + "_" + std::to_string(++count_))) {
    fs::create_directories(path_);
  }
  ~ProbeCacheDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  static inline int count_ = 0;
  fs::path path_;
};

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in, nullptr, false);
}

TEST(PrecisionProbe, ParsesOneDnnVerboseIsaAndConvolutionsAfterTheMarker) {
  const std::string log =
      "onednn_verbose,info,oneDNN v2.6.0 (commit N/A)\n"
      "onednn_verbose,info,cpu,runtime:OpenMP,nthr:1\n"
      "onednn_verbose,info,cpu,isa:Intel AVX-512 with AVX512BW, AVX512VL, and AVX512DQ "
      "extensions\n"
      "onednn_verbose,exec,cpu,convolution,jit:avx512_core,forward_inference,src_f32,0.1\n"
      "streaminfer-probe: reference done\n"
      "onednn_verbose,exec,cpu,convolution,jit:avx512_core_bf16,forward_inference,src_bf16,0.1\n"
      "onednn_verbose,exec,cpu,reorder,simple:any,undef,src_f32,0.1\n"
      "onednn_verbose,exec,cpu,convolution,brgconv:avx512_core_bf16,forward_inference,0.1\n"
      "onednn_verbose,exec,cpu,convolution,jit:avx512_core_bf16,forward_inference,0.1\n";
  std::string isa, conv;
  parse_onednn_verbose(log, isa, conv);
  EXPECT_EQ(isa, "Intel AVX-512 with AVX512BW, AVX512VL, and AVX512DQ extensions");
  EXPECT_EQ(conv, "jit:avx512_core_bf16 brgconv:avx512_core_bf16");
  parse_onednn_verbose("no verbose log at all\n", isa, conv);
  EXPECT_EQ(isa, "");
  EXPECT_EQ(conv, "");
}

TEST(PrecisionProbe, Fp32AlwaysRunsAndTheVerdictIsCachedOnDisk) {
  ProbeCacheDir dir;
  PrecisionProbeOptions options;
  options.cache_dir = dir.path().string();
  const auto probe = probe_precision("fp32", options);
  EXPECT_TRUE(probe.available) << probe.reason;
  EXPECT_FALSE(probe.from_cache);
  EXPECT_NE(probe.isa_summary().find("oneDNN ISA: "), std::string::npos);

  const auto json = read_json(dir.path() / "precision_probe.json");
  ASSERT_TRUE(json.is_object()) << "no cache file";
  const auto key = probe_cache_key("fp32");
  ASSERT_TRUE(json["entries"].contains(key)) << json.dump();
  EXPECT_TRUE(json["entries"][key]["available"].get<bool>());
  // The key names everything the verdict depends on.
  EXPECT_EQ(key.rfind("fp32|", 0), 0u);
  EXPECT_NE(key.find("|libtorch "), std::string::npos);
  EXPECT_NE(key.find("|ONEDNN_MAX_CPU_ISA="), std::string::npos);
  EXPECT_NE(key.find("|probe 2"), std::string::npos);  // what the child runs

  const auto again = probe_precision("fp32", options);
  EXPECT_TRUE(again.available);
  EXPECT_TRUE(again.from_cache);
}

TEST(PrecisionProbe, ACachedVerdictIsReusedWithoutRunningTheChild) {
  ProbeCacheDir dir;
  const auto key = probe_cache_key("bf16");
  nlohmann::json json = {{"version", 1},
                         {"entries",
                          {{key,
                            {{"precision", "bf16"},
                             {"available", false},
                             {"reason", "planted by the test"},
                             {"advice", "ignore"}}}}}};
  std::ofstream(dir.path() / "precision_probe.json") << json.dump();
  PrecisionProbeOptions options;
  options.cache_dir = dir.path().string();
  const auto probe = probe_precision("bf16", options);
  EXPECT_TRUE(probe.from_cache);
  EXPECT_FALSE(probe.available);
  EXPECT_EQ(probe.reason, "planted by the test");
}

TEST(PrecisionProbe, UnwritableCacheDirectoryOnlyMeansNoCache) {
  PrecisionProbeOptions options;
  options.cache_dir = "/proc/streaminfer_cannot_be_created";
  const auto probe = probe_precision("fp32", options);
  EXPECT_TRUE(probe.available) << probe.reason;
}

// bf16 and fp16 either run or come back with a reason and advice; the parent survives either way
// (on CPUs where oneDNN's bf16 kernels raise SIGILL, the child dies, not this test).
TEST(PrecisionProbe, ReducedPrecisionsNeverCrashTheParent) {
  for (const char* precision : {"bf16", "fp16"}) {
    ProbeCacheDir dir;
    PrecisionProbeOptions options;
    options.cache_dir = dir.path().string();
    const auto probe = probe_precision(precision, options);
    EXPECT_EQ(probe.precision, precision);
    if (probe.available) continue;
    EXPECT_FALSE(probe.reason.empty()) << precision;
    EXPECT_FALSE(probe.advice.empty()) << precision;
    const auto line = format_precision_fallback(probe);
    EXPECT_EQ(line.find('\n'), std::string::npos) << line;
    EXPECT_NE(line.find(std::string("--precision ") + precision), std::string::npos) << line;
    EXPECT_NE(line.find("running fp32"), std::string::npos) << line;
  }
}

// The path taken on CPUs where oneDNN's bf16 kernels raise SIGILL, forced with the test hook.
TEST(PrecisionProbe, AChildKilledBySigillMeansUnavailableWithTheAdvice) {
  ProbeCacheDir dir;
  ::setenv(kProbeTestRaiseEnv, std::to_string(SIGILL).c_str(), 1);
  const char* cap = std::getenv("ONEDNN_MAX_CPU_ISA");
  PrecisionProbeOptions options;
  options.cache_dir = dir.path().string();
  const auto probe = probe_precision("bf16", options);
  ::unsetenv(kProbeTestRaiseEnv);
  EXPECT_FALSE(probe.available);
  EXPECT_NE(probe.reason.find("died with SIGILL"), std::string::npos) << probe.reason;
  if (cap == nullptr || *cap == '\0') {
    EXPECT_NE(probe.advice.find("ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16"), std::string::npos)
        << probe.advice;
  }
  const auto line = format_precision_fallback(probe);
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  // The verdict is cached like any other: the next call runs no child.
  const auto again = probe_precision("bf16", options);
  EXPECT_TRUE(again.from_cache);
  EXPECT_FALSE(again.available);
}

TEST(PrecisionProbe, BackendRunsBf16OrFallsBackToFp32WithOneLine) {
  ProbeCacheDir dir;
  ::setenv("XDG_CACHE_HOME", dir.path().c_str(), 1);
  BackendOptions options;
  options.input_size = 64;
  options.threads = 1;
  options.precision = "bf16";
  auto backend = create_backend(options);
  ::unsetenv("XDG_CACHE_HOME");
  ASSERT_TRUE(backend) << backend.status().message();
  const auto& info = backend.value()->info();
  if (info.precision_fallback.empty()) {
    EXPECT_EQ(info.precision.rfind("bf16 (oneDNN ISA: ", 0), 0u) << info.precision;
  } else {
    EXPECT_EQ(info.precision, "fp32");
    EXPECT_NE(info.precision_fallback.find("--precision bf16"), std::string::npos);
  }
  EXPECT_NE(info.description.find(info.precision), std::string::npos) << info.description;
  auto out = backend.value()->infer(torch::rand({2, 3, 64, 64}));
  ASSERT_TRUE(out) << out.status().message();
  EXPECT_EQ(out.value().scalar_type(), torch::kFloat32);
  EXPECT_EQ(out.value().sizes(), (std::vector<int64_t>{2, 84, 84}));
}

TEST(PrecisionProbe, UnknownPrecisionIsNamed) {
  BackendOptions options;
  options.input_size = 64;
  options.threads = 1;
  options.precision = "int4";
  auto backend = create_backend(options);
  ASSERT_FALSE(backend);
  EXPECT_NE(backend.status().message().find("--precision int4"), std::string::npos);
}

}  // namespace
}  // namespace streaminfer
