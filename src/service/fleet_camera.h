#pragma once
// A camera of a fleet's list: the key PREFIX/streams/NAME holds its entry, a URI
// (`etcdctl put site1/streams/door-1 rtsp://10.0.0.7/stream1`) or the JSON object POST /streams
// takes, without the name (the key says it). Checked as the API checks a request, by the worker
// that would run it, before it claims the camera.
#include <string>

#include "pipeline/pipeline.h"
#include "streaminfer/status.h"

namespace streaminfer {

Result<StreamSpec> fleet_camera_spec(const std::string& name, const std::string& entry);
// The entry a worker writes for a camera added through its API: the URI alone when nothing
// else was given, else the JSON object.
std::string fleet_camera_entry(const StreamSpec& spec);

}  // namespace streaminfer
