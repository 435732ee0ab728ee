#pragma once
// Small text helpers shared by modules that turn exceptions and tool output into one-line errors.
#include <string>
#include <string_view>

namespace streaminfer {

// Up to the first '\n': LibTorch's exception messages carry a C++ backtrace after it.
inline std::string first_line(std::string_view text) {
  return std::string(text.substr(0, text.find('\n')));
}

// A piece of a user's file quoted in a one-line message: files can hold anything (binary junk,
// a 10 MB line), so control characters show as '?' and at most `max_bytes` are kept, cut at a
// UTF-8 character boundary and marked with "...".
inline std::string excerpt(std::string_view text, size_t max_bytes = 60) {
  size_t keep = text.size();
  if (keep > max_bytes) {
    keep = max_bytes;
    while (keep > 0 && (static_cast<unsigned char>(text[keep]) & 0xC0) == 0x80) --keep;
  }
  std::string out;
  out.reserve(keep + 3);
  for (char c : text.substr(0, keep)) {
    const auto byte = static_cast<unsigned char>(c);
    out += byte < 0x20 || byte == 0x7F ? '?' : c;
  }
  if (keep < text.size()) out += "...";
  return out;
}

}  // namespace streaminfer
