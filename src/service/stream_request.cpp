#include "service/stream_request.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <filesystem>

#include "source/synthetic_uri.h"

namespace streaminfer {

namespace {

// Network schemes FFmpeg opens as streams (the live sources run reads).
constexpr std::array<std::string_view, 8> kSchemes = {"rtsp", "rtsps", "http", "https",
                                                      "rtmp", "udp",   "tcp",  "srt"};

std::string quoted(const std::string& text) {
  std::string shown = text.size() > 80 ? text.substr(0, 77) + "..." : text;
  for (char& c : shown) {
    if (static_cast<unsigned char>(c) < 0x20) c = '?';
  }
  return "'" + shown + "'";
}

}  // namespace

Status check_stream_name(const std::string& name) {
  const bool allowed =
      !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
      });
  // stream-N names the streams added without a name: taken, two streams would export one series.
  const bool automatic = name.rfind("stream-", 0) == 0 && name.size() > 7 &&
                         std::all_of(name.begin() + 7, name.end(), [](char c) {
                           return std::isdigit(static_cast<unsigned char>(c));
                         });
  if (automatic) {
    return Status::error(fmt::format(
        "name '{}': stream-N is how streams without a name are called; choose another", name));
  }
  if (allowed) return Status::ok();
  return Status::error(fmt::format(
      "name {}: use 1 to 64 letters, digits, '.', '_' or '-' (it names the stream in metrics and "
      "URLs)",
      quoted(name)));
}

Status check_stream_uri(const std::string& uri) {
  if (uri.empty()) return Status::error("uri: empty; give a file path, a URL or synthetic:?...");
  if (std::any_of(uri.begin(), uri.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
    return Status::error("uri: holds control characters; give a file path, a URL or synthetic:");
  }
  if (uri.rfind("synthetic:", 0) == 0) {
    auto params = parse_synthetic_uri(uri);
    return params ? Status::ok() : Status::error("uri: " + params.status().message());
  }
  if (uri.rfind("camera:", 0) == 0 || uri.rfind("/dev/video", 0) == 0) return Status::ok();
  if (const size_t at = uri.find("://"); at != std::string::npos) {
    const std::string scheme = uri.substr(0, at);
    if (std::find(kSchemes.begin(), kSchemes.end(), scheme) == kSchemes.end()) {
      return Status::error(fmt::format(
          "uri {}: unknown scheme {}; use rtsp, rtsps, http, https, rtmp, udp, tcp or srt, a "
          "file path, camera:N or synthetic:",
          quoted(uri), quoted(scheme)));
    }
    if (uri.size() == at + 3) return Status::error(fmt::format("uri {}: no host", quoted(uri)));
    return Status::ok();
  }
  std::error_code error;
  if (!std::filesystem::is_regular_file(uri, error)) {
    return Status::error(fmt::format(
        "uri {}: no such file (give an existing video file, a URL or synthetic:)", quoted(uri)));
  }
  return Status::ok();
}

Status check_stream_spec(const StreamSpec& spec) {
  SI_RETURN_IF_ERROR(check_stream_uri(spec.uri));
  if (!spec.name.empty()) SI_RETURN_IF_ERROR(check_stream_name(spec.name));
  if (spec.every_nth < 0 || spec.every_nth > 100000) {
    return Status::error(
        fmt::format("every_nth {}: give an integer from 1 to 100000", spec.every_nth));
  }
  if (spec.sample_fps > 1000) {
    return Status::error(
        fmt::format("sample_fps {}: give a number from 0 (every frame) to 1000", spec.sample_fps));
  }
  return Status::ok();
}

Result<StreamSpec> stream_spec_from_json(const nlohmann::json& object, const std::string& origin) {
  if (!object.is_object()) {
    return Status::error(origin + ": expected a JSON object like {\"uri\": \"rtsp://...\"}");
  }
  StreamSpec spec;
  spec.every_nth = 0;
  spec.sample_fps = -1;
  bool has_uri = false;
  for (const auto& [key, value] : object.items()) {
    if (key == "uri") {
      if (!value.is_string()) return Status::error(origin + ": 'uri' must be a string");
      spec.uri = value.get<std::string>();
      has_uri = true;
    } else if (key == "name") {
      if (!value.is_string()) return Status::error(origin + ": 'name' must be a string");
      spec.name = value.get<std::string>();
      if (Status named = check_stream_name(spec.name); !named) {
        return Status::error(origin + ": " + named.message());
      }
    } else if (key == "every_nth") {
      if (!value.is_number_integer() || value.get<int64_t>() < 1 || value.get<int64_t>() > 100000) {
        return Status::error(origin + ": 'every_nth' must be an integer from 1 to 100000");
      }
      spec.every_nth = value.get<int>();
    } else if (key == "sample_fps") {
      if (!value.is_number() || value.get<double>() < 0 || value.get<double>() > 1000) {
        return Status::error(origin +
                             ": 'sample_fps' must be a number from 0 (every frame) to 1000");
      }
      spec.sample_fps = value.get<double>();
    } else {
      return Status::error(
          fmt::format("{}: unknown key {}; the keys are uri, name, sample_fps and every_nth",
                      origin, quoted(key)));
    }
  }
  if (!has_uri) return Status::error(origin + ": 'uri' is missing");
  if (Status valid = check_stream_uri(spec.uri); !valid) {
    return Status::error(origin + ": " + valid.message());
  }
  return spec;
}

Result<StreamSpec> parse_stream_request(const std::string& body) {
  if (body.size() > kMaxRequestBytes) {
    return Status::error(fmt::format("the body is over {} bytes", kMaxRequestBytes));
  }
  nlohmann::json parsed;
  try {
    parsed = nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception& e) {
    // The parser's message names the byte where it failed; the first line is enough.
    std::string what = e.what();
    if (const size_t nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
    return Status::error("malformed JSON: " + what);
  }
  return stream_spec_from_json(parsed, "the request");
}

nlohmann::json stream_state_json(const StreamState& s) {
  nlohmann::json j = {{"id", s.id},
                      {"name", s.name},
                      {"uri", s.uri},
                      {"status", s.status},
                      {"up", s.up},
                      {"live", s.live},
                      {"description", s.description},
                      {"every_nth", s.every_nth},
                      {"sample_fps", s.sample_fps},
                      {"frames_decoded", s.decoded},
                      {"frames_done", s.done},
                      {"frames_skipped", s.skipped},
                      {"frames_dropped", s.dropped},
                      {"reconnects", s.reconnects},
                      {"decode_errors", s.decode_errors},
                      {"queued", s.queued}};
  j["seconds_since_result"] =
      s.seconds_since_result < 0 ? nlohmann::json(nullptr) : nlohmann::json(s.seconds_since_result);
  if (s.removed) j["removed"] = true;
  return j;
}

}  // namespace streaminfer
