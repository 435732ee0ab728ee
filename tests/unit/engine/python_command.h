#pragma once
// The engine tests that check interoperability with PyTorch run /usr/bin/python3 (with
// python3-torch) on a script of tests/scripts and read what it prints.
#include <cstdio>
#include <optional>
#include <string>

namespace streaminfer::test {

// Runs `command` through the shell and returns its stdout, or nullopt when it exits non-zero.
inline std::optional<std::string> command_output(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  std::string out;
  char buffer[4096];
  while (size_t n = std::fread(buffer, 1, sizeof(buffer), pipe)) out.append(buffer, n);
  if (::pclose(pipe) != 0) return std::nullopt;
  return out;
}

// The test's python (STREAMINFER_TEST_PYTHON) when it can import torch; empty otherwise.
inline std::string python_with_torch() {
  static const std::string python = [] {
    const std::string candidate = STREAMINFER_TEST_PYTHON;
    if (candidate.empty() || !command_output(candidate + " -c 'import torch' 2>/dev/null"))
      return std::string();
    return candidate;
  }();
  return python;
}

// "python3 tests/scripts/<script> " ready for arguments.
inline std::string python_script(const std::string& script) {
  return python_with_torch() + " " + STREAMINFER_TEST_SCRIPTS + "/" + script + " ";
}

}  // namespace streaminfer::test
