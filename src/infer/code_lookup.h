#pragma once
// to[i] = table[from[i]] over a byte array: int8 SiLU and requantization. With AVX-512 VBMI
// (checked at run time) 64 bytes per step through two two-register byte permutes; a scalar loop
// otherwise, and for the tail.
#include <array>
#include <cstdint>

namespace streaminfer::int8 {

using CodeTable = std::array<uint8_t, 256>;

void lookup_codes(const uint8_t* from, uint8_t* to, int64_t count, const CodeTable& table);
// The portable loop, whatever the CPU (tests compare the two).
void lookup_codes_scalar(const uint8_t* from, uint8_t* to, int64_t count, const CodeTable& table);
bool lookup_codes_vectorized();

}  // namespace streaminfer::int8
