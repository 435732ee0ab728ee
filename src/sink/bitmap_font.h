#pragma once
// A 5x7 pixel ASCII font for labels drawn into images: no font file or text library to ship, and
// every glyph is readable at one dot per pixel, scaled by whole pixels for large images.
#include <array>
#include <cstdint>

namespace streaminfer {

inline constexpr int kGlyphWidth = 5;
inline constexpr int kGlyphHeight = 7;
// Empty columns between two glyphs, in font dots.
inline constexpr int kGlyphSpacing = 1;

// Seven rows, top first; bit 4 of a row is its leftmost dot.
using Glyph = std::array<uint8_t, kGlyphHeight>;

// The glyph of `c`: digits, capital letters, space and . _ - : / % ( ) ? have their own;
// lowercase letters are drawn as capitals (one table to check by eye, and labels stay legible at
// 7 pixels); any other character is drawn as '?'.
const Glyph& glyph(char c);
// Whether `c` has a glyph of its own (lowercase letters count: they have their capital's).
bool has_glyph(char c);

}  // namespace streaminfer
