#include "fleet/fleet_address.h"

#include <fmt/format.h>

#include <charconv>

#include "common/text.h"

namespace streaminfer {

namespace {

constexpr size_t kMaxNameBytes = 128;

bool name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

}  // namespace

Status check_fleet_name(const std::string& name, const std::string& what) {
  if (name.empty() || name.size() > kMaxNameBytes) {
    return Status::error(
        fmt::format("{} '{}': give 1 to {} characters", what, excerpt(name), kMaxNameBytes));
  }
  for (char c : name) {
    if (!name_char(c) && c != ':') {
      return Status::error(
          fmt::format("{} '{}': only A-Z a-z 0-9 . _ - : are allowed (it is part of etcd keys)",
                      what, excerpt(name)));
    }
  }
  return Status::ok();
}

Result<FleetAddress> parse_fleet_address(const std::string& given) {
  const std::string text = excerpt(given, 200);  // for the messages
  const std::string& uri = given;
  const std::string usage = "give etcd://HOST:PORT/PREFIX, e.g. etcd://127.0.0.1:2379/site1";
  constexpr std::string_view kScheme = "etcd://";
  if (uri.rfind(kScheme, 0) != 0) {
    return Status::error(fmt::format("--fleet '{}': {}", text, usage));
  }
  const std::string rest = uri.substr(kScheme.size());
  const size_t slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  std::string prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  if (authority.empty() || prefix.empty()) {
    return Status::error(
        fmt::format("--fleet '{}': {} (the host and the prefix are needed)", text, usage));
  }
  std::string host = authority;
  int port = 2379;
  const size_t colon = authority.rfind(':');
  const bool bracketed = !authority.empty() && authority.front() == '[';
  if (colon != std::string::npos && (!bracketed || authority[colon - 1] == ']')) {
    host = authority.substr(0, colon);
    const std::string digits = authority.substr(colon + 1);
    const auto parsed = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (digits.empty() || parsed.ec != std::errc() || parsed.ptr != digits.data() + digits.size() ||
        port < 1 || port > 65535) {
      return Status::error(fmt::format(
          "--fleet '{}': the port '{}' is not a number from 1 to 65535", text, excerpt(digits)));
    }
  }
  if (host.empty() || host == "[]") {
    return Status::error(fmt::format("--fleet '{}': no host; {}", text, usage));
  }
  for (char c : host) {
    if (!name_char(c) && c != ':' && c != '[' && c != ']') {
      return Status::error(fmt::format("--fleet '{}': the host '{}' is not a name or an address",
                                       text, excerpt(host)));
    }
  }
  if (prefix.size() > kMaxNameBytes) {
    return Status::error(
        fmt::format("--fleet '{}': the prefix is longer than {} characters", text, kMaxNameBytes));
  }
  bool segment_start = true;
  for (char c : prefix) {
    if (c == '/' && segment_start) {
      return Status::error(
          fmt::format("--fleet '{}': the prefix has an empty segment ('//')", text));
    }
    if (!name_char(c) && c != '/') {
      return Status::error(
          fmt::format("--fleet '{}': the prefix '{}' may hold only A-Z a-z 0-9 . _ - /", text,
                      excerpt(prefix)));
    }
    segment_start = c == '/';
  }
  return FleetAddress{fmt::format("http://{}:{}", host, port), prefix + "/"};
}

}  // namespace streaminfer
