#pragma once
#include <chrono>
#include <cstdint>

namespace streaminfer {

// All stage timestamps are steady-clock nanoseconds; 0 means "not reached".
inline int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline double ns_to_ms(int64_t ns) { return static_cast<double>(ns) / 1e6; }

}  // namespace streaminfer
