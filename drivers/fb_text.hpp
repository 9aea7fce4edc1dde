// A text console drawn on a linear framebuffer with the built-in 8x16 font (drivers/font8x16.hpp):
// the pure renderer, without hardware access. It draws into whatever memory the Surface describes
// (the boot framebuffer in the hypervisor, a plain buffer in host tests and tools/fb-expect).
//
// It keeps a text shadow, rows x columns characters, and the screen always shows exactly the
// shadow: every cell drawn with its glyph, the margins right of and below the grid in the
// background colour. Scrolling moves the shadow up one row and redraws only the cells whose
// character changed. It never reads the framebuffer back: a framebuffer mapped uncacheable or
// write-combining reads an order of magnitude slower than it writes, and a line of log text
// mostly shares its blank tail (and its "matryoshka: " prefix) with the line that scrolls into
// its place.
#pragma once
#include <cstddef>
#include <cstdint>

#include "lib/str.hpp"

namespace fb {

// How a pixel stores its colour: the Multiboot2 framebuffer tag's direct RGB fields.
// A pixel is bytes_per_pixel bytes, little-endian; each component occupies `size` bits from bit
// `position` of that value. Bits outside the three fields are written as zero.
struct PixelFormat {
    uint8_t bytes_per_pixel; // 1 to 4 (8, 15/16, 24 and 32 bits per pixel)
    uint8_t red_position, red_size, green_position, green_size, blue_position, blue_size;
};

struct Surface {
    uint8_t* base;   // the top-left pixel
    size_t pitch;    // bytes from one pixel row to the next (at least width * bytes_per_pixel)
    uint32_t width, height; // pixels
    PixelFormat format;
};

constexpr unsigned kCellWidth = 8, kCellHeight = 16; // one character, in pixels
constexpr unsigned kTabWidth = 8;                     // tab stops every 8 columns
// Colours as 0xRRGGBB: the VGA text palette's light grey on black.
constexpr uint32_t kForeground = 0xaaaaaa, kBackground = 0x000000;

// The pixel value of 0xRRGGBB: each 8-bit component reduced to its field's top bits (or widened
// by repeating its bits, for fields wider than 8) and shifted to its position.
uint32_t encode(const PixelFormat& format, uint32_t rgb);

// nullptr, or why the renderer cannot draw on this surface.
const char* check(const Surface& surface);

class TextConsole {
public:
    // Starts over on `surface`: clears all of it to the background and empties the shadow. The
    // grid is as many whole cells as fit the surface, clipped so that rows x columns fits
    // `shadow` (shadow_size bytes, owned by the caller). A surface smaller than one cell gets
    // an empty grid: nothing is drawn, writes are ignored. False, and never a pixel drawn, when
    // check() refuses the surface.
    bool init(const Surface& surface, char* shadow, size_t shadow_size, uint32_t foreground = kForeground,
              uint32_t background = kBackground);

    // Printable ASCII is drawn at the cursor. '\n' goes to the start of the next line (the serial
    // console's CR LF), '\r' to the start of this one, '\t' to the next tab stop, '\b' one column
    // left (nothing is erased). Other control characters are ignored; bytes 0x80-0xff draw '?'.
    // Writing the last column leaves the cursor past the end of the row; the next printable
    // character wraps to a new line first (so a line exactly as wide as the screen, then '\n',
    // leaves no blank line). A new line below the last row scrolls the text up by one row.
    void write(const char* text, size_t length);
    void put(char c);

    uint32_t rows() const { return rows_; }
    uint32_t columns() const { return columns_; }
    uint32_t cursor_row() const { return row_; }
    uint32_t cursor_column() const { return column_; } // == columns() while a wrap is pending

    // The shadow: what the screen shows. ' ' outside the grid.
    char at(uint32_t row, uint32_t column) const;
    Str row_text(uint32_t row) const; // the whole row, trailing blanks included; empty outside

private:
    void new_line();
    void set_cell(uint32_t row, uint32_t column, char c); // shadow and pixels, if it changed
    void draw_cell(uint32_t row, uint32_t column, char c);
    void clear_surface();

    Surface surface_{};
    uint32_t foreground_ = 0, background_ = 0; // encoded pixel values
    char* shadow_ = nullptr;
    uint32_t rows_ = 0, columns_ = 0;
    uint32_t row_ = 0, column_ = 0;
};

} // namespace fb
