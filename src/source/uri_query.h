#pragma once
// Parses the query part of source URIs such as "synthetic:?width=1280&height=720&fps=30".
#include <map>
#include <set>
#include <string>

#include "streaminfer/status.h"

namespace streaminfer {

struct UriQuery {
  std::string base;                           // everything before '?', e.g. "synthetic:"
  std::map<std::string, std::string> values;  // key -> raw value, in key order

  bool has(const std::string& key) const { return values.count(key) != 0; }
  // Typed getters: `fallback` when the key is absent, an error naming key and uri when the value
  // is not a whole number / finite number, or is outside [min, max].
  Result<long long> get_int(const std::string& key, long long fallback, long long min,
                            long long max) const;
  Result<double> get_double(const std::string& key, double fallback, double min, double max) const;

  std::string uri;  // the full uri, kept for error messages
};

// Splits `uri` at the first '?' and parses "k=v&k=v". Keys not in `allowed_keys`, empty keys,
// missing '=' and repeated keys are errors naming the key and the uri.
Result<UriQuery> parse_uri_query(const std::string& uri, const std::set<std::string>& allowed_keys);

}  // namespace streaminfer
