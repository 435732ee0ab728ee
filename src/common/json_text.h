#pragma once
// JSON string escaping for writers that format JSON by hand for speed (JSONL, the trace).
#include <string_view>

#include <fmt/format.h>

namespace streaminfer {

// Appends `text` as a quoted JSON string; UTF-8 passes through unchanged, as JSON allows.
void append_json_string(fmt::memory_buffer& out, std::string_view text);

}  // namespace streaminfer
