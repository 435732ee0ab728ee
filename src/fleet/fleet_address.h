#pragma once
// Where a worker finds its fleet: `etcd://HOST:PORT/PREFIX` (the etcd member's client URL and
// the key prefix every key of this fleet lives under), and the keys under that prefix:
//   PREFIX/workers/ID     a live worker (under its lease): {"api", "capacity_fps", ...}
//   PREFIX/streams/NAME   a camera of the fleet: a URI, or {"uri", "sample_fps", "every_nth"}
//   PREFIX/owners/NAME    the worker running that camera (under that worker's lease)
#include <string>

#include "streaminfer/status.h"

namespace streaminfer {

struct FleetAddress {
  std::string endpoint;  // http://HOST:PORT, what the JSON gateway answers on
  std::string prefix;    // "PREFIX/", never empty, no leading slash

  std::string workers() const { return prefix + "workers/"; }
  std::string streams() const { return prefix + "streams/"; }
  std::string owners() const { return prefix + "owners/"; }
};

// `etcd://HOST:PORT/PREFIX` (PORT defaults to 2379; PREFIX is 1 to 128 of A-Z a-z 0-9 . _ - /,
// no empty segment); errors say what is accepted.
Result<FleetAddress> parse_fleet_address(const std::string& text);

// A worker id or a camera name as a key segment: 1 to 128 of A-Z a-z 0-9 . _ - : (no slash).
Status check_fleet_name(const std::string& name, const std::string& what);

}  // namespace streaminfer
