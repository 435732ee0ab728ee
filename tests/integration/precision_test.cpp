// --precision on the cpu end to end: a reduced precision either runs (and the model line says
// which oneDNN ISA ran it) or falls back to fp32 with exactly one warning line; the run finishes
// either way, and the probe's verdict lands in the cache directory.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <optional>
#include <string>
#include <vector>

#include "run_command.h"

namespace streaminfer::test {
namespace {

std::vector<std::string> lines_with(const std::string& text, const std::string& needle) {
  std::vector<std::string> found;
  for (const auto& line : split_lines(text)) {
    if (line.find(needle) != std::string::npos) found.push_back(line);
  }
  return found;
}

void run_with_precision(const std::string& precision) {
  TempDir cache("streaminfer_cache");
  ScopedEnv xdg("XDG_CACHE_HOME", cache.path().string());
  const auto r =
      run_command(streaminfer_run({"--precision", precision, "--max-frames", "2", "--source",
                                   synthetic_uri(160, 96, 2), "--pace", "max"}));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto warnings = lines_with(r.err, "--precision " + precision);
  const bool ran = has_line_with_all(r.out, {"model: ", precision + " (", "oneDNN ISA: "});
  if (ran) {
    EXPECT_TRUE(warnings.empty()) << r.describe();
  } else {
    ASSERT_EQ(warnings.size(), 1u) << "one fallback line expected\n" << r.describe();
    EXPECT_EQ(warnings[0].rfind("streaminfer: warning: ", 0), 0u) << warnings[0];
    EXPECT_NE(warnings[0].find("running fp32"), std::string::npos) << warnings[0];
    EXPECT_TRUE(has_line_with_all(r.out, {"model: ", "fp32"})) << r.describe();
  }
  EXPECT_TRUE(std::filesystem::exists(cache / "streaminfer" / "precision_probe.json"))
      << r.describe();
}

TEST(Precision, Bf16RunsOrFallsBackWithOneLine) { run_with_precision("bf16"); }

TEST(Precision, Bf16WithOneDnnCappedAtAvx512RunsOrFallsBackWithOneLine) {
  ScopedEnv cap("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_BF16");
  run_with_precision("bf16");
}

TEST(Precision, Fp16RunsOrFallsBackWithOneLine) { run_with_precision("fp16"); }

TEST(Precision, Int8RunsOrFallsBackWithOneLine) { run_with_precision("int8"); }

// int8 on a built-in ResNet: it runs, and the model line says how many convolutions went int8.
TEST(Precision, Int8RunsAResNetClassifier) {
  TempDir cache("streaminfer_cache");
  ScopedEnv xdg("XDG_CACHE_HOME", cache.path().string());
  const auto r =
      run_command(streaminfer_run({"--model", "resnet18", "--precision", "int8", "--max-frames",
                                   "1", "--source", synthetic_uri(160, 96, 1), "--pace", "max"}));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_TRUE(lines_with(r.err, "--precision int8").empty()) << r.describe();
  EXPECT_TRUE(has_line_with_all(r.out, {"model: resnet18", "int8 (20 int8 convolutions"}))
      << r.describe();
}

// What a CPU whose bf16 kernels raise SIGILL does (forced with the probe's test hook): the run
// goes on in fp32 and says so in one line.
TEST(Precision, Bf16ChildKilledBySigillFallsBackToFp32) {
  TempDir cache("streaminfer_cache");
  ScopedEnv xdg("XDG_CACHE_HOME", cache.path().string());
  ScopedEnv raise("STREAMINFER_PROBE_TEST_RAISE", "4");  // SIGILL
  const auto r =
      run_command(streaminfer_run({"--precision", "bf16", "--max-frames", "2", "--source",
                                   synthetic_uri(160, 96, 2), "--pace", "max"}));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto warnings = lines_with(r.err, "--precision bf16");
  ASSERT_EQ(warnings.size(), 1u) << r.describe();
  EXPECT_TRUE(has_line_with_all(
      r.err, {"streaminfer: warning: --precision bf16", "running fp32", "died with SIGILL"}))
      << r.describe();
  EXPECT_TRUE(has_line_with_all(r.out, {"model: ", "fp32"})) << r.describe();
}

}  // namespace
}  // namespace streaminfer::test
