#include "output_checks.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdint>

#include "child_process.h"

namespace streaminfer::test {

namespace fs = std::filesystem;

namespace {

bool has_null(const nlohmann::json& value) {
  if (value.is_null()) return true;
  if (value.is_structured()) {
    for (const auto& item : value) {
      if (has_null(item)) return true;
    }
  }
  return false;
}

std::string check_csv_text(const std::string& text) {
  if (text.empty()) return "empty (no header)";
  if (text.back() != '\n') return "does not end with a newline (last row cut short)";
  const auto lines = split_lines(text);
  const auto fields = [](const std::string& line) {
    return static_cast<size_t>(std::count(line.begin(), line.end(), ',')) + 1;
  };
  const size_t columns = fields(lines[0]);
  for (size_t i = 1; i < lines.size(); ++i) {
    if (fields(lines[i]) != columns) {
      return fmt::format("line {} has {} fields, the header {}", i + 1, fields(lines[i]), columns);
    }
  }
  return {};
}

std::string check_json_text(const std::string& text) {
  const auto parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return "does not parse as JSON";
  return {};
}

}  // namespace

std::string check_jsonl_text(const std::string& text) {
  if (text.empty()) return {};
  if (text.back() != '\n') return "does not end with a newline (last line cut short)";
  const auto lines = split_lines(text);
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto parsed = nlohmann::json::parse(lines[i], nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) {
      return fmt::format("line {} is not a JSON object: {}", i + 1, lines[i].substr(0, 120));
    }
    if (has_null(parsed)) return fmt::format("line {} holds a null: {}", i + 1, lines[i]);
  }
  return {};
}

std::string check_outputs_valid(const fs::path& dir) {
  std::string problems;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return {};
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const fs::path& path = it->path();
    const std::string name = path.filename().string();
    const std::string ext = path.extension().string();
    std::string problem;
    if (name.find(".partial.") != std::string::npos) {
      problem = "a file written aside was left behind";
    } else if (ext == ".jsonl") {
      problem = check_jsonl_text(read_file(path));
    } else if (ext == ".csv") {
      problem = check_csv_text(read_file(path));
    } else if (ext == ".json") {
      problem = check_json_text(read_file(path));
    }
    if (!problem.empty()) problems += fmt::format("{}: {}\n", path.string(), problem);
  }
  return problems;
}

std::map<std::string, std::string> checksum_tree(const fs::path& dir) {
  std::map<std::string, std::string> sums;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string bytes = read_file(it->path());
    uint64_t hash = 1469598103934665603ull;
    for (unsigned char c : bytes) hash = (hash ^ c) * 1099511628211ull;
    sums[it->path().string()] = fmt::format("{} bytes, fnv {:016x}", bytes.size(), hash);
  }
  return sums;
}

std::string compare_checksums(const std::map<std::string, std::string>& before,
                              const std::map<std::string, std::string>& after) {
  std::string changes;
  for (const auto& [path, sum] : before) {
    auto found = after.find(path);
    if (found == after.end()) {
      changes += fmt::format("{} was removed\n", path);
    } else if (found->second != sum) {
      changes += fmt::format("{} changed: {} -> {}\n", path, sum, found->second);
    }
  }
  return changes;
}

}  // namespace streaminfer::test
