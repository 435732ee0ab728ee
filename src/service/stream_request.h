#pragma once
// A stream as the service is asked for it, by POST /streams (JSON) or by an entry of the serve
// config's `streams:` list (YAML), checked the same way: the URI's form (a known scheme, a file
// that exists, a synthetic URI that parses), the name's characters, the sampling values. Every
// error is one line naming the field and what is accepted; nothing starts on a bad request.
#include <nlohmann/json.hpp>

#include <string>

#include "pipeline/pipeline.h"
#include "streaminfer/status.h"

namespace streaminfer {

// Bodies larger than this are refused (413) before they are parsed.
inline constexpr size_t kMaxRequestBytes = 1 << 20;

// {"uri": "...", "name": "...", "sample_fps": N, "every_nth": K}: uri required, the rest
// optional; unknown keys and wrong types are errors.
Result<StreamSpec> parse_stream_request(const std::string& body);
// The same from an object already parsed; `origin` starts the messages.
Result<StreamSpec> stream_spec_from_json(const nlohmann::json& object, const std::string& origin);

// The checks of a spec's values (also for the YAML entries).
Status check_stream_spec(const StreamSpec& spec);
// The URI alone: synthetic: that parses, a URL of a scheme FFmpeg reads streams from, a camera
// (camera:N, /dev/videoN), or a file that exists.
Status check_stream_uri(const std::string& uri);
// 1 to 64 of A-Z a-z 0-9 . _ - (a name goes into metric labels, URLs and file names), and not
// stream-N (the names of streams added without one).
Status check_stream_name(const std::string& name);

// What the API shows of a stream.
nlohmann::json stream_state_json(const StreamState& state);

}  // namespace streaminfer
