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
// Milliseconds from start to end; 0 when either timestamp was never taken (0) or they are out
// of order.
inline double ms_between(int64_t start_ns, int64_t end_ns) {
  return (start_ns && end_ns && end_ns >= start_ns) ? ns_to_ms(end_ns - start_ns) : 0.0;
}

}  // namespace streaminfer
