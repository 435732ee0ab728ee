#include "infer/code_lookup.h"

#include <immintrin.h>

namespace streaminfer::int8 {

namespace {

__attribute__((target("avx512f,avx512bw,avx512vbmi"))) void lookup_codes_vbmi(
    const uint8_t* from, uint8_t* to, int64_t count, const CodeTable& table) {
  const __m512i t0 = _mm512_loadu_si512(table.data());
  const __m512i t1 = _mm512_loadu_si512(table.data() + 64);
  const __m512i t2 = _mm512_loadu_si512(table.data() + 128);
  const __m512i t3 = _mm512_loadu_si512(table.data() + 192);
  int64_t i = 0;
  for (; i + 64 <= count; i += 64) {
    const __m512i codes = _mm512_loadu_si512(from + i);
    // Bits 0-6 pick one of 128 entries of each half; bit 7 picks the half.
    const __m512i low = _mm512_permutex2var_epi8(t0, codes, t1);
    const __m512i high = _mm512_permutex2var_epi8(t2, codes, t3);
    _mm512_storeu_si512(to + i, _mm512_mask_blend_epi8(_mm512_movepi8_mask(codes), low, high));
  }
  lookup_codes_scalar(from + i, to + i, count - i, table);
}

}  // namespace

void lookup_codes_scalar(const uint8_t* from, uint8_t* to, int64_t count, const CodeTable& table) {
  for (int64_t i = 0; i < count; ++i) to[i] = table[from[i]];
}

bool lookup_codes_vectorized() {
  static const bool vbmi = __builtin_cpu_supports("avx512f") &&
                           __builtin_cpu_supports("avx512bw") &&
                           __builtin_cpu_supports("avx512vbmi");
  return vbmi;
}

void lookup_codes(const uint8_t* from, uint8_t* to, int64_t count, const CodeTable& table) {
  if (lookup_codes_vectorized()) {
    lookup_codes_vbmi(from, to, count, table);
  } else {
    lookup_codes_scalar(from, to, count, table);
  }
}

}  // namespace streaminfer::int8
