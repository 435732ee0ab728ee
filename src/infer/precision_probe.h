#pragma once
// Whether a reduced precision really runs on this CPU, found out without risking the process.
//
// Debian's LibTorch 1.13 can die with SIGILL on bfloat16 convolutions on CPUs that advertise
// AVX-512 BF16 / AMX (oneDNN picks kernels the build cannot run), and has no float16 convolution
// on CPU at all. A signal cannot be caught and recovered from in-process, so the probe runs a
// tiny YOLOv8 forward (and, for bf16 and fp16, a transformer block's operators) in that
// precision in a child process (this same executable, re-executed)
// with oneDNN's verbose log on, and reads from it whether it worked and which ISA and kernels
// oneDNN used. Verdicts are cached per (precision, CPU model, LibTorch version,
// ONEDNN_MAX_CPU_ISA) in $XDG_CACHE_HOME/streaminfer/precision_probe.json (or
// ~/.cache/streaminfer/...), and in memory for the life of the process.
#include <string>

namespace streaminfer {

struct PrecisionProbe {
  std::string precision;    // "fp32", "bf16", "fp16", "int8"
  bool available = false;   // the child ran the forward and the output was finite
  std::string isa;          // oneDNN's "isa:" info line, e.g. "Intel AVX-512 with ..." ("" if none)
  std::string conv_impl;    // the convolution implementation(s) oneDNN ran, e.g. "jit:avx512_core"
  std::string reason;       // when unavailable: why, e.g. "the probe child died with SIGILL: ..."
  std::string advice;       // when unavailable: what to do
  bool from_cache = false;  // no child ran for this answer (file or in-memory cache)

  // "oneDNN ISA: <isa>; convolutions: <conv_impl>" with "unknown" for what the log did not show.
  std::string isa_summary() const;
};

struct PrecisionProbeOptions {
  std::string cache_dir;  // empty: default_probe_cache_dir()
  bool use_cache = true;  // false: always run the child (the in-memory memo is skipped too)
  int timeout_s = 120;    // a child that takes longer is killed and the precision is unavailable
};

// Runs (or looks up) the probe. Never throws and never crashes the caller.
PrecisionProbe probe_precision(const std::string& precision, const PrecisionProbeOptions& options);
PrecisionProbe probe_precision(const std::string& precision);

// $XDG_CACHE_HOME/streaminfer, else $HOME/.cache/streaminfer; "" when neither is set.
std::string default_probe_cache_dir();

// The cache key: "<precision>|<cpu model>|libtorch <version>|ONEDNN_MAX_CPU_ISA=<value or
// unset>|probe <what the child runs>".
std::string probe_cache_key(const std::string& precision);

// The one line that says a precision fell back to fp32: which, why and what to do. No prefix.
std::string format_precision_fallback(const PrecisionProbe& probe);

// The oneDNN "isa:" value and the convolution implementations of a verbose log (lines after the
// last "streaminfer-probe: reference done" marker when there is one). Exposed for tests.
void parse_onednn_verbose(const std::string& log, std::string& isa, std::string& conv_impl);

}  // namespace streaminfer
