#include "drivers/fb_text.hpp"

#include "drivers/font8x16.hpp"

namespace fb {
namespace {

static_assert(kCellWidth == font8x16::kWidth && kCellHeight == font8x16::kHeight);

uint32_t component(uint32_t value8, unsigned size)
{
    if (size == 0) return 0;
    if (size <= 8) return value8 >> (8 - size);
    // Wider than 8 bits (e.g. 10-bit channels): repeat the bits so that 0xff is all ones.
    uint32_t wide = 0;
    for (int shift = int(size) - 8; shift > -8; shift -= 8)
        wide |= shift >= 0 ? value8 << shift : value8 >> -shift;
    return wide & ((1u << size) - 1);
}

bool field_fits(unsigned position, unsigned size, unsigned bits) { return size <= 16 && position + size <= bits; }

// Pixel stores of each width, little-endian, without alignment assumptions (the pitch may be odd).
template <unsigned Bytes>
inline void store(uint8_t* p, uint32_t pixel)
{
    if constexpr (Bytes == 4) {
        __builtin_memcpy(p, &pixel, 4);
    } else if constexpr (Bytes == 2) {
        uint16_t v = uint16_t(pixel);
        __builtin_memcpy(p, &v, 2);
    } else {
        for (unsigned i = 0; i < Bytes; ++i) p[i] = uint8_t(pixel >> (8 * i));
    }
}

// One glyph row (bit 7 leftmost) as 8 pixels. With 4-byte pixels, two at a time: against an
// uncacheable framebuffer every store is a bus transaction.
template <unsigned Bytes>
inline void store_row(uint8_t* p, uint8_t bits, uint32_t fg, uint32_t bg)
{
    if constexpr (Bytes == 4) {
        for (unsigned x = 0; x < 8; x += 2) {
            uint64_t pair = uint64_t(bits & (0x80 >> x) ? fg : bg) |
                            uint64_t(bits & (0x40 >> x) ? fg : bg) << 32;
            __builtin_memcpy(p + 4 * x, &pair, 8);
        }
    } else {
        for (unsigned x = 0; x < 8; ++x) store<Bytes>(p + Bytes * x, bits & (0x80 >> x) ? fg : bg);
    }
}

template <unsigned Bytes>
void draw_glyph(uint8_t* cell, size_t pitch, const uint8_t* rows, uint32_t fg, uint32_t bg)
{
    for (unsigned y = 0; y < kCellHeight; ++y, cell += pitch) store_row<Bytes>(cell, rows ? rows[y] : 0, fg, bg);
}

template <unsigned Bytes>
void fill(const Surface& s, uint32_t pixel)
{
    uint8_t* line = s.base;
    for (uint32_t y = 0; y < s.height; ++y, line += s.pitch) {
        uint32_t x = 0;
        if constexpr (Bytes == 4) {
            uint64_t pair = pixel | uint64_t(pixel) << 32;
            for (; x + 2 <= s.width; x += 2) __builtin_memcpy(line + 4 * x, &pair, 8);
        }
        for (; x < s.width; ++x) store<Bytes>(line + Bytes * x, pixel);
    }
}

char printable(char c) { return font8x16::glyph(c) ? c : '?'; }

} // namespace

uint32_t encode(const PixelFormat& f, uint32_t rgb)
{
    uint32_t r = (rgb >> 16) & 0xff, g = (rgb >> 8) & 0xff, b = rgb & 0xff;
    uint64_t pixel = uint64_t(component(r, f.red_size)) << f.red_position |
                     uint64_t(component(g, f.green_size)) << f.green_position |
                     uint64_t(component(b, f.blue_size)) << f.blue_position;
    return uint32_t(pixel);
}

const char* check(const Surface& s)
{
    const PixelFormat& f = s.format;
    if (f.bytes_per_pixel < 1 || f.bytes_per_pixel > 4) return "only 8 to 32 bits per pixel are supported";
    unsigned bits = 8u * f.bytes_per_pixel;
    if (!field_fits(f.red_position, f.red_size, bits) || !field_fits(f.green_position, f.green_size, bits) ||
        !field_fits(f.blue_position, f.blue_size, bits))
        return "a colour field lies outside the pixel";
    if (f.red_size + f.green_size + f.blue_size == 0) return "the pixel format has no colour bits";
    if (s.pitch < uint64_t(s.width) * f.bytes_per_pixel) return "the pitch is smaller than a row of pixels";
    if (!s.base && s.width && s.height) return "no framebuffer address";
    return nullptr;
}

bool TextConsole::init(const Surface& surface, char* shadow, size_t shadow_size, uint32_t foreground,
                       uint32_t background)
{
    *this = TextConsole{};
    if (check(surface)) return false;
    surface_ = surface;
    foreground_ = encode(surface.format, foreground);
    background_ = encode(surface.format, background);
    shadow_ = shadow;
    columns_ = surface.width / kCellWidth;
    rows_ = surface.height / kCellHeight;
    if (!shadow || !columns_ || !rows_) columns_ = rows_ = 0;
    if (columns_ > shadow_size) columns_ = uint32_t(shadow_size);
    if (columns_ && rows_ > shadow_size / columns_) rows_ = uint32_t(shadow_size / columns_);
    if (!rows_) columns_ = 0;
    for (size_t i = 0; i < size_t(rows_) * columns_; ++i) shadow_[i] = ' ';
    clear_surface();
    return true;
}

void TextConsole::clear_surface()
{
    switch (surface_.format.bytes_per_pixel) {
    case 1: fill<1>(surface_, background_); break;
    case 2: fill<2>(surface_, background_); break;
    case 3: fill<3>(surface_, background_); break;
    case 4: fill<4>(surface_, background_); break;
    }
}

void TextConsole::draw_cell(uint32_t row, uint32_t column, char c)
{
    unsigned bytes = surface_.format.bytes_per_pixel;
    uint8_t* cell = surface_.base + size_t(row) * kCellHeight * surface_.pitch + size_t(column) * kCellWidth * bytes;
    const uint8_t* rows = font8x16::glyph(c);
    switch (bytes) {
    case 1: draw_glyph<1>(cell, surface_.pitch, rows, foreground_, background_); break;
    case 2: draw_glyph<2>(cell, surface_.pitch, rows, foreground_, background_); break;
    case 3: draw_glyph<3>(cell, surface_.pitch, rows, foreground_, background_); break;
    case 4: draw_glyph<4>(cell, surface_.pitch, rows, foreground_, background_); break;
    }
}

void TextConsole::set_cell(uint32_t row, uint32_t column, char c)
{
    char& shown = shadow_[size_t(row) * columns_ + column];
    if (shown == c) return;
    shown = c;
    draw_cell(row, column, c);
}

void TextConsole::new_line()
{
    column_ = 0;
    if (row_ + 1 < rows_) {
        ++row_;
        return;
    }
    for (uint32_t r = 0; r + 1 < rows_; ++r)
        for (uint32_t c = 0; c < columns_; ++c) set_cell(r, c, shadow_[size_t(r + 1) * columns_ + c]);
    for (uint32_t c = 0; c < columns_; ++c) set_cell(rows_ - 1, c, ' ');
}

void TextConsole::put(char c)
{
    if (!rows_) return;
    switch (c) {
    case '\n': new_line(); return;
    case '\r': column_ = 0; return;
    case '\b':
        if (column_) --column_;
        return;
    case '\t': {
        uint32_t stop = (column_ / kTabWidth + 1) * kTabWidth;
        column_ = stop < columns_ ? stop : columns_;
        return;
    }
    default: break;
    }
    if (uint8_t(c) < 0x20 || c == 0x7f) return;
    if (column_ == columns_) new_line();
    set_cell(row_, column_, printable(c));
    ++column_;
}

void TextConsole::write(const char* text, size_t length)
{
    for (size_t i = 0; i < length; ++i) put(text[i]);
}

char TextConsole::at(uint32_t row, uint32_t column) const
{
    return row < rows_ && column < columns_ ? shadow_[size_t(row) * columns_ + column] : ' ';
}

Str TextConsole::row_text(uint32_t row) const
{
    return row < rows_ ? Str(shadow_ + size_t(row) * columns_, columns_) : Str();
}

} // namespace fb
