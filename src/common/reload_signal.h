#pragma once
// SIGHUP as a service reads it: "read your configuration again", not a stop (for `run` it is a
// stop, as a closed terminal). The handler only counts (async-signal-safe); the service's
// control thread takes the count and reloads.
#include <cstdint>

namespace streaminfer {

// From now on SIGHUP counts a reload request instead of a stop.
void install_reload_signal();
// Reload requests since the last call (0 when none).
int take_reload_requests();

}  // namespace streaminfer
