// The framebuffer console's built-in font: 8x16 pixel glyphs for printable ASCII (0x20-0x7e), in
// the style of the VGA text-mode font. Row 0 is the top; bit 7 of a row is its leftmost pixel.
// Capitals and digits use rows 2-11, the lower-case x-height rows 5-11, descenders rows 12-14;
// column 7 stays empty so that neighbouring characters never touch.
#pragma once
#include <cstddef>
#include <cstdint>

namespace font8x16 {

constexpr unsigned kWidth = 8, kHeight = 16;
constexpr uint8_t kFirst = 0x20, kLast = 0x7e;
constexpr size_t kCount = kLast - kFirst + 1;

extern const uint8_t kGlyphs[kCount][kHeight];

// The 16 rows of `c`, or nullptr when the font has no glyph for it.
inline const uint8_t* glyph(char c)
{
    uint8_t u = uint8_t(c);
    return u >= kFirst && u <= kLast ? kGlyphs[u - kFirst] : nullptr;
}

} // namespace font8x16
