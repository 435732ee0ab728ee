#include "service/fleet_camera.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "service/stream_request.h"

namespace streaminfer {

Result<StreamSpec> fleet_camera_spec(const std::string& name, const std::string& entry) {
  const std::string origin = fmt::format("camera {}", name);
  SI_RETURN_IF_ERROR(check_stream_name(name));
  size_t first = entry.find_first_not_of(" \t\r\n");
  StreamSpec spec;
  if (first != std::string::npos && entry[first] == '{') {
    const nlohmann::json j = nlohmann::json::parse(entry, nullptr, false);
    if (j.is_discarded()) {
      return Status::error(origin +
                           ": its entry starts with '{' but is not JSON; give a URI or "
                           "{\"uri\": ...}");
    }
    auto parsed = stream_spec_from_json(j, origin);
    if (!parsed) return parsed.status();
    if (!parsed.value().name.empty() && parsed.value().name != name) {
      return Status::error(
          fmt::format("{}: the entry names it '{}'; a camera's name is its key's "
                      "last segment (leave \"name\" out)",
                      origin, parsed.value().name));
    }
    spec = std::move(parsed.value());
  } else {
    const size_t last = entry.find_last_not_of(" \t\r\n");
    spec.uri = first == std::string::npos ? "" : entry.substr(first, last - first + 1);
    if (spec.uri.empty()) return Status::error(origin + ": its entry is empty; give its URI");
  }
  spec.name = name;
  if (Status valid = check_stream_spec(spec); !valid) {
    return Status::error(origin + ": " + valid.message());
  }
  return spec;
}

std::string fleet_camera_entry(const StreamSpec& spec) {
  if (spec.every_nth <= 0 && spec.sample_fps < 0) return spec.uri;
  nlohmann::json j = {{"uri", spec.uri}};
  if (spec.every_nth > 0) j["every_nth"] = spec.every_nth;
  if (spec.sample_fps >= 0) j["sample_fps"] = spec.sample_fps;
  return j.dump();
}

}  // namespace streaminfer
