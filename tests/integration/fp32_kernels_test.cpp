// --fp32-kernels end to end: a oneDNN plan runs every frame of the bundled detector, finds the
// synthetic scenes' objects as LibTorch does, and the start-up block says which kernels ran; a
// model without a plan is refused by name in one line.
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "run_command.h"

namespace streaminfer::test {
namespace {
namespace fs = std::filesystem;

constexpr int kKernelRunFrames = 12;

// "stream 0: mAP@0.5 0.948 ..." of the summary's accuracy block (one stream); -1 when absent.
double stream_map50(const std::string& out) {
  std::smatch m;
  static const std::regex kLine(R"(stream 0: mAP@0\.5 ([0-9.]+))");
  return std::regex_search(out, m, kLine) ? std::stod(m[1].str()) : -1;
}

CommandResult run_with_kernels(const std::string& kernels, const fs::path& jsonl) {
  // The bundled detector (trained on the synthetic scenes), not the harness's random yolov8n.
  return run_command(streaminfer_run(
      {"--model", "yolov8n-shapes", "--precision", "fp32", "--fp32-kernels", kernels,
       "--micro-batch", "2", "--batch-size", "2", "--source",
       synthetic_uri(320, 240, kKernelRunFrames, 3), "--pace", "max", "--output", jsonl.string()}));
}

TEST(Fp32KernelsRun, AOneDnnPlanAnswersEveryFrameAsLibTorchDoes) {
  TempDir dir;
  const auto libtorch = run_with_kernels("libtorch", dir / "libtorch.jsonl");
  ASSERT_EQ(libtorch.exit_code, 0) << libtorch.describe();
  for (const char* kernels : {"onednn-nhwc", "onednn-blocked"}) {
    SCOPED_TRACE(kernels);
    const fs::path jsonl = dir / (std::string(kernels) + ".jsonl");
    const auto r = run_with_kernels(kernels, jsonl);
    if (r.exit_code == 2 && r.err.find("not built") != std::string::npos) {
      GTEST_SKIP() << "built without oneDNN's headers: " << r.err;
    }
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_TRUE(has_line_with_all(r.out, {"fp32 kernels: ", kernels, "(set)"})) << r.describe();
    EXPECT_TRUE(has_line_with_all(r.out, {"model: ", std::string(kernels) + " plan: "}))
        << r.describe();
    const JsonlFile parsed = parse_jsonl(jsonl);
    EXPECT_EQ(parsed.lines, static_cast<size_t>(kKernelRunFrames));
    EXPECT_TRUE(parsed.errors.empty()) << r.describe();
    // The bundled detector on held-out synthetic scenes: the same accuracy as LibTorch's
    // forward (the outputs differ by float rounding only).
    const double map50 = stream_map50(r.out);
    EXPECT_GT(map50, 0.5) << r.describe();
    EXPECT_NEAR(map50, stream_map50(libtorch.out), 0.01) << r.describe();
  }
}

TEST(Fp32KernelsRun, AModelWithoutAPlanIsRefusedByNameInOneLine) {
  const auto r = run_command(
      streaminfer_run({"--model", "yolov8n", "--split-point", "model.9", "--precision", "fp32",
                       "--fp32-kernels", "onednn-nhwc", "--source", synthetic_uri(160, 96, 2)}));
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_TRUE(has_line_with_all(r.err, {"--fp32-kernels onednn-nhwc", "--split-point"}))
      << r.describe();
}

}  // namespace
}  // namespace streaminfer::test
