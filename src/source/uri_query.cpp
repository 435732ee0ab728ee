#include "source/uri_query.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace streaminfer {
namespace {

std::string join_keys(const std::set<std::string>& keys) {
  std::string out;
  for (const auto& key : keys) {
    if (!out.empty()) out += ", ";
    out += key;
  }
  return out;
}

Status bad_value(const UriQuery& query, const std::string& key, const std::string& expected) {
  return Status::error("bad value '" + query.values.at(key) + "' for '" + key + "' in '" +
                       query.uri + "' (expected " + expected + ")");
}

}  // namespace

Result<long long> UriQuery::get_int(const std::string& key, long long fallback, long long min,
                                    long long max) const {
  auto it = values.find(key);
  if (it == values.end()) return fallback;
  const std::string& text = it->second;
  const std::string expected =
      "a whole number from " + std::to_string(min) + " to " + std::to_string(max);
  if (text.empty()) return bad_value(*this, key, expected);
  errno = 0;
  char* end = nullptr;
  long long value = std::strtoll(text.c_str(), &end, 10);
  // strtoll skips leading spaces; a value with spaces was not typed as a number.
  if (errno != 0 || *end != '\0' || text.front() == ' ' || value < min || value > max) {
    return bad_value(*this, key, expected);
  }
  return value;
}

Result<double> UriQuery::get_double(const std::string& key, double fallback, double min,
                                    double max) const {
  auto it = values.find(key);
  if (it == values.end()) return fallback;
  const std::string& text = it->second;
  const std::string expected =
      "a number from " + std::to_string(min) + " to " + std::to_string(max);
  if (text.empty()) return bad_value(*this, key, expected);
  errno = 0;
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (errno != 0 || *end != '\0' || text.front() == ' ' || !std::isfinite(value) || value < min ||
      value > max) {
    return bad_value(*this, key, expected);
  }
  return value;
}

Result<UriQuery> parse_uri_query(const std::string& uri,
                                 const std::set<std::string>& allowed_keys) {
  UriQuery query;
  query.uri = uri;
  const size_t question = uri.find('?');
  query.base = uri.substr(0, question);
  if (question == std::string::npos) return query;

  const std::string rest = uri.substr(question + 1);
  size_t start = 0;
  while (start <= rest.size()) {
    size_t amp = rest.find('&', start);
    if (amp == std::string::npos) amp = rest.size();
    const std::string item = rest.substr(start, amp - start);
    start = amp + 1;
    if (item.empty()) continue;  // tolerate "?&a=1" and a trailing '&'
    const size_t eq = item.find('=');
    if (eq == std::string::npos) {
      return Status::error("parameter '" + item + "' in '" + uri + "' has no value (use " + item +
                           "=VALUE)");
    }
    const std::string key = item.substr(0, eq);
    if (key.empty()) {
      return Status::error("empty parameter name in '" + uri + "'");
    }
    if (!allowed_keys.count(key)) {
      return Status::error("unknown parameter '" + key + "' in '" + uri +
                           "' (known: " + join_keys(allowed_keys) + ")");
    }
    if (!query.values.emplace(key, item.substr(eq + 1)).second) {
      return Status::error("parameter '" + key + "' is given twice in '" + uri + "'");
    }
  }
  return query;
}

}  // namespace streaminfer
