#pragma once
// Small text helpers shared by modules that turn exceptions and tool output into one-line errors.
#include <string>
#include <string_view>

namespace streaminfer {

// Up to the first '\n': LibTorch's exception messages carry a C++ backtrace after it.
inline std::string first_line(std::string_view text) {
  return std::string(text.substr(0, text.find('\n')));
}

}  // namespace streaminfer
