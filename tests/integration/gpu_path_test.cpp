// The GPU path where there is no GPU (this machine, CI): every way in says what it needs in one
// line and the CPU path goes on where it can; scripts/gpu_check.sh's GPU-free parts run.
#include <gtest/gtest.h>

#include <filesystem>

#include "run_command.h"

namespace streaminfer::test {
namespace {

namespace fs = std::filesystem;

const fs::path kSourceRoot = fs::path(STREAMINFER_TEST_DATA).parent_path().parent_path();

TEST(HwdecCuda, WithoutAGpuTheCpuDecodesEveryFrameAndOneLineSaysWhy) {
  TempDir dir;
  const fs::path clip = dir / "clip.mp4";
  ASSERT_EQ(make_test_clip(clip, ClipSpec{}), "");
  const fs::path jsonl = dir / "det.jsonl";
  const CommandResult r = run_command(streaminfer_run(
      {"--source", clip.string(), "--hwdec", "cuda", "--pace", "max", "--output", jsonl.string()}));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_TRUE(has_line_with_all(
      r.err, {"streaminfer: warning: stream 0: --hwdec cuda:", "decoding on the CPU"}))
      << r.describe();
  int warnings = 0;
  for (const auto& line : non_empty_lines(r.err))
    warnings += line.find("--hwdec") != std::string::npos;
  EXPECT_EQ(warnings, 1) << r.describe();
  EXPECT_EQ(check_frame_indices(parse_jsonl(jsonl), 0, 50), "");  // 2 s at 25 fps
}

TEST(CudaOptions, CudaGraphsWithoutDeviceCudaExits2WithOneLine) {
  const CommandResult r =
      run_command(streaminfer_run({"--source", synthetic_uri(160, 120, 4), "--cuda-graphs"}));
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_EQ(check_error_line(r, {"--cuda-graphs", "--device cuda"}), "");
}

TEST(CudaOptions, BenchGpuWithoutACudaBackendSaysWhatItNeedsInOneLine) {
  const CommandResult r = run_command({streaminfer_bin(), "bench", "gpu"});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_EQ(check_error_line(r, {"bench gpu", "cuda backend", "scripts/gpu_check.sh"}), "");
}

// The GPU-free parts of the one-command GPU check: arguments, the LibTorch lookup (a stand-in
// prefix here), the real configure of the kernels-only CUDA build, and the result layout.
TEST(GpuCheck, DryRunConfiguresTheKernelBuildAndWritesTheResultLayout) {
  // The configure needs nvcc: the CUDA toolkit is no Debian package the setup installs.
  if (!fs::exists("/usr/local/cuda/bin/nvcc") &&
      run_command({"sh", "-c", "command -v nvcc"}).exit_code != 0) {
    GTEST_SKIP() << "no nvcc (CUDA toolkit) on this machine";
  }
  TempDir dir;
  const fs::path fake_torch = dir / "torch_prefix";
  fs::create_directories(fake_torch / "Torch");
  write_file(fake_torch / "Torch" / "TorchConfig.cmake", "# stand-in: never configured\n");
  const fs::path out = dir / "out";
  const CommandResult r =
      run_command({"bash", (kSourceRoot / "scripts" / "gpu_check.sh").string(), "--dry-run",
                   "--out", out.string(), "--build-dir", (dir / "build").string(), "--torch-prefix",
                   fake_torch.string()},
                  std::chrono::seconds(300));
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  for (const char* file : {"gpu_check.log", "nvidia_smi.txt", "summary.txt"}) {
    EXPECT_TRUE(fs::exists(out / file)) << file << "\n" << r.describe();
  }
  const std::string summary = read_file(out / "summary.txt");
  EXPECT_NE(summary.find("(dry run)"), std::string::npos) << summary;
  EXPECT_NE(summary.find("kernels-only configure: ok"), std::string::npos) << summary;
  EXPECT_NE(summary.find("bench gpu: not run (dry run)"), std::string::npos) << summary;
  // The kernels-only build was configured for real, with its gpu tests.
  EXPECT_TRUE(fs::exists(dir / "build" / "kernels" / "build.ninja")) << r.describe();
  const std::string log = read_file(out / "gpu_check.log");
  EXPECT_TRUE(has_line_with_all(log, {"would run:", "cmake --build", "kernels"})) << log;
  EXPECT_TRUE(has_line_with_all(log, {"would run:", "-DSTREAMINFER_CUDA=ON", fake_torch.string()}))
      << log;
  EXPECT_TRUE(has_line_with_all(log, {"would run:", "streaminfer bench gpu --output-dir"})) << log;
}

TEST(GpuCheck, WithoutAGpuOrWithAnUnknownArgumentItStopsWithOneLine) {
  TempDir dir;
  const std::string script = (kSourceRoot / "scripts" / "gpu_check.sh").string();
  const CommandResult unknown = run_command({"bash", script, "--frobnicate"});
  EXPECT_EQ(unknown.exit_code, 2) << unknown.describe();
  EXPECT_NE(unknown.err.find("unknown argument '--frobnicate'"), std::string::npos)
      << unknown.describe();
  const CommandResult no_gpu = run_command(
      {"bash", script, "--out", (dir / "out").string(), "--build-dir", (dir / "build").string()});
  EXPECT_EQ(no_gpu.exit_code, 1) << no_gpu.describe();
  EXPECT_NE(no_gpu.out.find("needs an NVIDIA GPU"), std::string::npos) << no_gpu.describe();
}

}  // namespace
}  // namespace streaminfer::test
