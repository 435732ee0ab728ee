#pragma once
// The child side of the precision probe (see precision_probe.h): runs in a re-executed copy of the
// current executable, prints oneDNN's verbose log and one result line, and returns the exit code.

namespace streaminfer {

// Builds a YOLOv8n (fixed seed), runs it once in float32 (then prints
// "streaminfer-probe: reference done"), then with BatchNorm fused in `precision` ("fp32", "bf16"
// or "fp16"), both contiguous and channels-last. Prints "streaminfer-probe: ok ..." and returns
// 0 when every output is finite, else prints "streaminfer-probe: error: <why>" and returns 3.
// A kernel the CPU cannot execute kills the process with a signal instead: the parent sees that.
int run_precision_probe_child(const char* precision);

// Test hook: when set (to a signal number), the child raises that signal after its float32
// reference forward, as a CPU without the precision's kernels would (SIGILL is 4).
inline constexpr const char* kProbeTestRaiseEnv = "STREAMINFER_PROBE_TEST_RAISE";

}  // namespace streaminfer
