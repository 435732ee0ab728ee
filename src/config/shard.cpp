#include "config/shard.h"

#include <fmt/format.h>

#include <charconv>

namespace streaminfer {

namespace {

bool parse_int(std::string_view text, int& value) {
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  return ec == std::errc() && ptr == end && !text.empty();
}

}  // namespace

Result<Shard> parse_shard(const std::string& text) {
  const size_t slash = text.find('/');
  Shard shard;
  if (slash == std::string::npos ||
      !parse_int(std::string_view(text).substr(0, slash), shard.index) ||
      !parse_int(std::string_view(text).substr(slash + 1), shard.count) || shard.count < 1 ||
      shard.index < 0 || shard.index >= shard.count) {
    return Status::error(fmt::format(
        "--shard {}: expected i/N with 0 <= i < N, e.g. 0/4 for the first of four shards", text));
  }
  return shard;
}

Result<std::vector<std::string>> sources_of_shard(const std::vector<std::string>& sources,
                                                  const Shard& shard) {
  std::vector<std::string> mine;
  for (size_t i = static_cast<size_t>(shard.index); i < sources.size();
       i += static_cast<size_t>(shard.count)) {
    mine.push_back(sources[i]);
  }
  if (mine.empty()) {
    return Status::error(
        fmt::format("--shard {}/{}: no source falls in this shard ({} source(s) "
                    "for {} shards)",
                    shard.index, shard.count, sources.size(), shard.count));
  }
  return mine;
}

}  // namespace streaminfer
