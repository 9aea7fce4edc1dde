#include "drivers/fb_text.hpp"

#include "drivers/font8x16.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using fb::PixelFormat;
using fb::Surface;
using fb::TextConsole;

constexpr PixelFormat kXrgb8888{4, 16, 8, 8, 8, 0, 8}; // what GOP and VBE usually give
constexpr PixelFormat kXbgr8888{4, 0, 8, 8, 8, 16, 8};
constexpr PixelFormat kRgb888{3, 16, 8, 8, 8, 0, 8};   // bytes B, G, R in memory
constexpr PixelFormat kBgr888{3, 0, 8, 8, 8, 16, 8};   // bytes R, G, B in memory (PPM order)
constexpr PixelFormat kRgb565{2, 11, 5, 5, 6, 0, 5};
constexpr uint8_t kPadding = 0xee;

// A host buffer standing in for a framebuffer; `extra` bytes per row beyond the pixels, and
// a guard area after the last row, hold kPadding and must keep it.
struct Canvas {
    std::vector<uint8_t> bytes;
    Surface surface;
    std::vector<char> shadow;
    TextConsole console;

    Canvas(uint32_t width, uint32_t height, PixelFormat format = kXrgb8888, size_t extra = 0, size_t shadow_size = 4096)
    {
        size_t pitch = size_t(width) * format.bytes_per_pixel + extra;
        bytes.assign(pitch * height + 64, kPadding);
        surface = Surface{bytes.data(), pitch, width, height, format};
        shadow.assign(shadow_size, 'x');
        EXPECT_TRUE(console.init(surface, shadow.data(), shadow.size()));
    }

    uint32_t pixel(uint32_t x, uint32_t y) const
    {
        uint32_t v = 0;
        const uint8_t* p = bytes.data() + y * surface.pitch + x * surface.format.bytes_per_pixel;
        for (unsigned i = 0; i < surface.format.bytes_per_pixel; ++i) v |= uint32_t(p[i]) << (8 * i);
        return v;
    }

    void write(const std::string& text) { console.write(text.data(), text.size()); }

    std::string row(uint32_t r) const
    {
        Str s = console.row_text(r);
        return std::string(s.data, s.size);
    }

    // The cell's 16 rows as bit patterns (bit 7 = leftmost pixel), foreground = 1.
    std::vector<uint8_t> cell_bits(uint32_t row, uint32_t column, uint32_t fg) const
    {
        std::vector<uint8_t> rows;
        for (uint32_t y = 0; y < 16; ++y) {
            uint8_t bits = 0;
            for (uint32_t x = 0; x < 8; ++x)
                if (pixel(column * 8 + x, row * 16 + y) == fg) bits |= 0x80 >> x;
            rows.push_back(bits);
        }
        return rows;
    }

    bool guard_intact() const
    {
        for (size_t i = surface.pitch * surface.height; i < bytes.size(); ++i)
            if (bytes[i] != kPadding) return false;
        return true;
    }
};

std::vector<uint8_t> glyph_rows(char c)
{
    const uint8_t* g = font8x16::glyph(c);
    return std::vector<uint8_t>(g, g + 16);
}

// The classic VGA shape of 'A', written out independently of the font table.
const std::vector<uint8_t> kLetterA = {0x00, 0x00, 0x10, 0x38, 0x6c, 0xc6, 0xc6, 0xfe,
                                       0xc6, 0xc6, 0xc6, 0xc6, 0x00, 0x00, 0x00, 0x00};

TEST(FbText, GlyphPixelsOfA)
{
    Canvas c(16, 16);
    c.write("A");
    const char* art[16] = {
        "........", "........", "...#....", "..###...", ".##.##..", "##...##.", "##...##.", "#######.",
        "##...##.", "##...##.", "##...##.", "##...##.", "........", "........", "........", "........",
    };
    for (uint32_t y = 0; y < 16; ++y)
        for (uint32_t x = 0; x < 8; ++x)
            EXPECT_EQ(c.pixel(x, y), art[y][x] == '#' ? 0x00aaaaaau : 0u) << "pixel " << x << "," << y;
    EXPECT_EQ(c.cell_bits(0, 0, 0xaaaaaa), kLetterA);
    EXPECT_EQ(glyph_rows('A'), kLetterA);
    // The rest of the screen stays background.
    for (uint32_t y = 0; y < 16; ++y)
        for (uint32_t x = 8; x < 16; ++x) EXPECT_EQ(c.pixel(x, y), 0u);
    EXPECT_EQ(c.row(0), "A ");
    EXPECT_EQ(c.console.cursor_column(), 1u);
}

TEST(FbText, FontCoversPrintableAscii)
{
    for (int ch = 0x20; ch <= 0x7e; ++ch) EXPECT_NE(font8x16::glyph(char(ch)), nullptr) << ch;
    EXPECT_EQ(font8x16::glyph('\n'), nullptr);
    EXPECT_EQ(font8x16::glyph(char(0x7f)), nullptr);
    EXPECT_EQ(font8x16::glyph(char(0x80)), nullptr);
    for (uint8_t row : glyph_rows(' ')) EXPECT_EQ(row, 0);
    // Column 7 is the gap between characters, except where a glyph deliberately spans the cell.
    for (int ch = 0x21; ch <= 0x7e; ++ch) {
        if (ch == '*' || ch == '_') continue;
        for (uint8_t row : glyph_rows(char(ch))) EXPECT_EQ(row & 1, 0) << char(ch);
    }
}

TEST(FbText, EveryGlyphDrawnAsInTheTable)
{
    Canvas c(95 * 8, 16, kRgb888);
    for (int ch = 0x20; ch <= 0x7e; ++ch) c.console.put(char(ch));
    uint32_t fg = fb::encode(kRgb888, fb::kForeground);
    for (int ch = 0x20; ch <= 0x7e; ++ch) EXPECT_EQ(c.cell_bits(0, ch - 0x20, fg), glyph_rows(char(ch))) << char(ch);
}

TEST(FbText, Encode)
{
    EXPECT_EQ(fb::encode(kXrgb8888, 0x123456), 0x00123456u);
    EXPECT_EQ(fb::encode(kXbgr8888, 0x123456), 0x00563412u);
    EXPECT_EQ(fb::encode(kRgb888, 0xabcdef), 0xabcdefu);
    EXPECT_EQ(fb::encode(kBgr888, 0xabcdef), 0xefcdabu);
    // 5-6-5: the top bits of each component.
    EXPECT_EQ(fb::encode(kRgb565, 0xff8040), (0x1fu << 11) | (0x20u << 5) | 0x08u);
    EXPECT_EQ(fb::encode(kRgb565, 0xffffff), 0xffffu);
    // 10-bit components (30-bit colour): widened by repeating the top bits.
    PixelFormat ten{4, 20, 10, 10, 10, 0, 10};
    EXPECT_EQ(fb::encode(ten, 0xff8000), (0x3ffu << 20) | (0x202u << 10));
    // Unusual positions: padding bits at the bottom, a 4-bit field.
    PixelFormat odd{4, 24, 8, 12, 4, 1, 8};
    EXPECT_EQ(fb::encode(odd, 0x11f022), (0x11u << 24) | (0xfu << 12) | (0x22u << 1));
    EXPECT_EQ(fb::encode(kXrgb8888, fb::kBackground), 0u);
}

TEST(FbText, Colors32bppBothOrders)
{
    for (PixelFormat format : {kXrgb8888, kXbgr8888}) {
        Canvas c(8, 16, format);
        ASSERT_TRUE(c.console.init(c.surface, c.shadow.data(), c.shadow.size(), 0x102030, 0x405060));
        c.write("A");
        bool bgr = format.red_position == 0;
        // Pixel (3,2) is set in 'A', (0,0) is not. Bytes in memory order.
        const uint8_t* set = c.bytes.data() + 2 * c.surface.pitch + 3 * 4;
        const uint8_t* clear = c.bytes.data();
        std::vector<uint8_t> fg = bgr ? std::vector<uint8_t>{0x10, 0x20, 0x30, 0} : std::vector<uint8_t>{0x30, 0x20, 0x10, 0};
        std::vector<uint8_t> bg = bgr ? std::vector<uint8_t>{0x40, 0x50, 0x60, 0} : std::vector<uint8_t>{0x60, 0x50, 0x40, 0};
        EXPECT_EQ(std::vector<uint8_t>(set, set + 4), fg) << "bgr " << bgr;
        EXPECT_EQ(std::vector<uint8_t>(clear, clear + 4), bg) << "bgr " << bgr;
    }
}

TEST(FbText, Colors24bppBothOrders)
{
    for (PixelFormat format : {kRgb888, kBgr888}) {
        Canvas c(16, 16, format);
        ASSERT_TRUE(c.console.init(c.surface, c.shadow.data(), c.shadow.size(), 0xc08040, 0x010203));
        c.write("A");
        bool bgr = format.red_position == 0;
        std::vector<uint8_t> fg = bgr ? std::vector<uint8_t>{0xc0, 0x80, 0x40} : std::vector<uint8_t>{0x40, 0x80, 0xc0};
        std::vector<uint8_t> bg = bgr ? std::vector<uint8_t>{0x01, 0x02, 0x03} : std::vector<uint8_t>{0x03, 0x02, 0x01};
        for (uint32_t y = 0; y < 16; ++y)
            for (uint32_t x = 0; x < 16; ++x) {
                bool on = x < 8 && (kLetterA[y] & (0x80 >> x));
                const uint8_t* p = c.bytes.data() + y * c.surface.pitch + x * 3;
                EXPECT_EQ(std::vector<uint8_t>(p, p + 3), on ? fg : bg) << x << "," << y << " bgr " << bgr;
            }
        EXPECT_TRUE(c.guard_intact());
    }
}

TEST(FbText, Draws16bpp)
{
    Canvas c(8, 16, kRgb565);
    c.write("A");
    EXPECT_EQ(c.cell_bits(0, 0, fb::encode(kRgb565, fb::kForeground)), kLetterA);
    EXPECT_EQ(fb::encode(kRgb565, fb::kForeground), 0xad55u);
}

TEST(FbText, WrapsAtTheRightEdge)
{
    Canvas c(4 * 8 + 5, 3 * 16); // 4 columns; the 5 extra pixels are a margin
    EXPECT_EQ(c.console.columns(), 4u);
    EXPECT_EQ(c.console.rows(), 3u);
    c.write("abcdef");
    EXPECT_EQ(c.row(0), "abcd");
    EXPECT_EQ(c.row(1), "ef  ");
    EXPECT_EQ(c.console.cursor_row(), 1u);
    EXPECT_EQ(c.console.cursor_column(), 2u);
    uint32_t fg = 0xaaaaaa;
    EXPECT_EQ(c.cell_bits(1, 0, fg), glyph_rows('e'));
    // The margin right of the grid is never drawn on.
    for (uint32_t y = 0; y < 48; ++y)
        for (uint32_t x = 32; x < 37; ++x) EXPECT_EQ(c.pixel(x, y), 0u);
}

TEST(FbText, FullLineThenNewlineLeavesNoBlankLine)
{
    Canvas c(4 * 8, 3 * 16);
    c.write("abcd");
    EXPECT_EQ(c.console.cursor_row(), 0u);
    EXPECT_EQ(c.console.cursor_column(), 4u); // wrap pending
    c.write("\nxy");
    EXPECT_EQ(c.row(0), "abcd");
    EXPECT_EQ(c.row(1), "xy  ");
    EXPECT_EQ(c.row(2), "    ");
}

TEST(FbText, ScrollsAtTheBottom)
{
    Canvas c(6 * 8, 2 * 16);
    c.write("one\ntwo\n");
    EXPECT_EQ(c.row(0), "two   ");
    EXPECT_EQ(c.row(1), "      ");
    EXPECT_EQ(c.console.cursor_row(), 1u);
    c.write("three\nfour");
    EXPECT_EQ(c.row(0), "three ");
    EXPECT_EQ(c.row(1), "four  ");
    // "one" and "two" are gone from the shadow and from the pixels: the screen is exactly what a
    // fresh console shows after writing the two remaining lines.
    Canvas fresh(6 * 8, 2 * 16);
    fresh.write("three\nfour");
    EXPECT_EQ(c.bytes, fresh.bytes);
    EXPECT_EQ(c.cell_bits(0, 0, 0xaaaaaa), glyph_rows('t'));
    EXPECT_EQ(c.cell_bits(1, 3, 0xaaaaaa), glyph_rows('r'));
    EXPECT_EQ(c.cell_bits(1, 4, 0xaaaaaa), glyph_rows(' '));
}

TEST(FbText, ScrollingManyLinesMatchesAFreshRender)
{
    Canvas c(10 * 8, 4 * 16, kBgr888, 7);
    std::string all;
    for (int i = 0; i < 50; ++i) all += "line " + std::to_string(i * 37) + (i % 3 ? "\n" : " and more text\n");
    c.write(all);
    c.write("end");
    std::vector<std::string> rows;
    for (uint32_t r = 0; r < 4; ++r) rows.push_back(c.row(r));
    EXPECT_EQ(rows[3], "end       ");
    Canvas fresh(10 * 8, 4 * 16, kBgr888, 7);
    for (uint32_t r = 0; r < 4; ++r) fresh.write(rows[r].substr(0, rows[r].find_last_not_of(' ') + 1) + (r < 3 ? "\n" : ""));
    for (uint32_t r = 0; r < 4; ++r) EXPECT_EQ(fresh.row(r), rows[r]);
    EXPECT_EQ(c.bytes, fresh.bytes);
}

TEST(FbText, ScrollingWithOneRow)
{
    Canvas c(3 * 8, 16);
    c.write("ab\ncd\ne");
    EXPECT_EQ(c.row(0), "e  ");
    EXPECT_EQ(c.cell_bits(0, 1, 0xaaaaaa), glyph_rows(' '));
}

TEST(FbText, TabStops)
{
    Canvas c(20 * 8, 2 * 16);
    c.write("a\tb");
    EXPECT_EQ(c.console.cursor_column(), 9u);
    EXPECT_EQ(c.console.at(0, 8), 'b');
    c.write("\tc");
    EXPECT_EQ(c.console.at(0, 16), 'c');
    // A tab from a stop goes to the next one; past the last stop it stops at the edge and the
    // next character wraps.
    c.write("\r\t\t");
    EXPECT_EQ(c.console.cursor_column(), 16u);
    c.write("\t");
    EXPECT_EQ(c.console.cursor_column(), 20u);
    c.write("z");
    EXPECT_EQ(c.console.cursor_row(), 1u);
    EXPECT_EQ(c.console.at(1, 0), 'z');
    // Tabs move the cursor; they do not erase.
    EXPECT_EQ(c.row(0), "a       b       c   ");
}

TEST(FbText, CarriageReturnAndBackspace)
{
    Canvas c(8 * 8, 2 * 16);
    c.write("abc\bX");
    EXPECT_EQ(c.row(0), "abX     ");
    c.write("\rZ");
    EXPECT_EQ(c.row(0), "ZbX     ");
    EXPECT_EQ(c.console.cursor_column(), 1u);
    c.write("\b\b\b");
    EXPECT_EQ(c.console.cursor_column(), 0u);
    c.write("12345678\b!");
    EXPECT_EQ(c.row(0), "1234567!");
    EXPECT_EQ(c.console.cursor_row(), 0u);
    EXPECT_EQ(c.cell_bits(0, 7, 0xaaaaaa), glyph_rows('!'));
}

TEST(FbText, ControlAndHighBytes)
{
    Canvas c(8 * 8, 16);
    c.write(std::string("a\x01\x1b\x7f") + "b" + char(0xc3) + char(0xa9));
    EXPECT_EQ(c.row(0), "ab??    ");
    EXPECT_EQ(c.cell_bits(0, 2, 0xaaaaaa), glyph_rows('?'));
}

TEST(FbText, TinySurfacesDoNotCrash)
{
    const std::pair<uint32_t, uint32_t> sizes[] = {{0, 0}, {1, 1}, {7, 16}, {8, 15}, {7, 100}, {100, 3}};
    for (auto [w, h] : sizes) {
        Canvas c(w, h);
        EXPECT_EQ(c.console.rows() * c.console.columns(), 0u) << w << "x" << h;
        c.write("hello\n\tworld\b\r\n");
        for (uint32_t y = 0; y < h; ++y)
            for (uint32_t x = 0; x < w; ++x) EXPECT_EQ(c.pixel(x, y), 0u);
        EXPECT_EQ(c.console.at(0, 0), ' ');
        EXPECT_TRUE(c.console.row_text(0).empty());
        EXPECT_TRUE(c.guard_intact());
    }
    // One cell exactly.
    Canvas one(8, 16);
    one.write("xyz\nw");
    EXPECT_EQ(one.row(0), "w");
    EXPECT_EQ(one.cell_bits(0, 0, 0xaaaaaa), glyph_rows('w'));
}

TEST(FbText, PitchLargerThanTheRow)
{
    Canvas c(3 * 8, 2 * 16, kXrgb8888, 13); // 13 bytes of padding per row, misaligning every row
    c.write("ABC\nDEF\nGHI");
    EXPECT_EQ(c.row(0), "DEF");
    EXPECT_EQ(c.row(1), "GHI");
    for (uint32_t y = 0; y < c.surface.height; ++y)
        for (size_t i = 3 * 8 * 4; i < c.surface.pitch; ++i)
            EXPECT_EQ(c.bytes[y * c.surface.pitch + i], kPadding) << "row " << y << " byte " << i;
    EXPECT_TRUE(c.guard_intact());
    EXPECT_EQ(c.cell_bits(1, 2, 0xaaaaaa), glyph_rows('I'));
}

TEST(FbText, GridClippedToTheShadow)
{
    Canvas c(10 * 8, 10 * 16, kXrgb8888, 0, 25); // 100 cells on screen, 25 in the shadow
    EXPECT_EQ(c.console.columns(), 10u);
    EXPECT_EQ(c.console.rows(), 2u);
    c.write("0123456789abcdefghijklmnop\nq");
    EXPECT_EQ(c.row(0), "klmnop    ");
    EXPECT_EQ(c.row(1), "q         ");
    for (size_t i = 20; i < c.shadow.size(); ++i) EXPECT_EQ(c.shadow[i], 'x');
    // Below the grid: background only.
    for (uint32_t y = 32; y < 160; ++y) EXPECT_EQ(c.pixel(3, y), 0u);

    Canvas narrow(10 * 8, 2 * 16, kXrgb8888, 0, 4); // fewer shadow bytes than one row
    EXPECT_EQ(narrow.console.columns(), 4u);
    EXPECT_EQ(narrow.console.rows(), 1u);
    narrow.write("abcdef");
    EXPECT_EQ(narrow.row(0), "ef  ");
}

TEST(FbText, RefusesSurfacesItCannotDraw)
{
    std::vector<uint8_t> buffer(64 * 64 * 4, kPadding);
    char shadow[64];
    auto refused = [&](Surface s) {
        TextConsole console;
        bool ok = console.init(s, shadow, sizeof shadow);
        console.write("x\n", 2);
        return !ok && fb::check(s) != nullptr && console.rows() == 0;
    };
    EXPECT_TRUE(refused(Surface{buffer.data(), 64 * 5, 64, 16, PixelFormat{5, 16, 8, 8, 8, 0, 8}}));
    EXPECT_TRUE(refused(Surface{buffer.data(), 64 * 4, 64, 16, PixelFormat{0, 16, 8, 8, 8, 0, 8}}));
    EXPECT_TRUE(refused(Surface{buffer.data(), 64 * 3, 64, 16, PixelFormat{3, 24, 8, 8, 8, 0, 8}}));
    EXPECT_TRUE(refused(Surface{buffer.data(), 64 * 4 - 1, 64, 16, kXrgb8888}));
    EXPECT_TRUE(refused(Surface{buffer.data(), 64 * 4, 64, 16, PixelFormat{4, 0, 0, 0, 0, 0, 0}}));
    EXPECT_TRUE(refused(Surface{nullptr, 64 * 4, 64, 16, kXrgb8888}));
    for (uint8_t b : buffer) ASSERT_EQ(b, kPadding);
    EXPECT_EQ(fb::check(Surface{buffer.data(), 64 * 4, 64, 16, kXrgb8888}), nullptr);
}

TEST(FbText, InitStartsOver)
{
    Canvas c(4 * 8, 2 * 16);
    c.write("ab\ncd");
    ASSERT_TRUE(c.console.init(c.surface, c.shadow.data(), c.shadow.size()));
    EXPECT_EQ(c.row(0), "    ");
    EXPECT_EQ(c.console.cursor_row(), 0u);
    for (uint32_t y = 0; y < 32; ++y)
        for (uint32_t x = 0; x < 32; ++x) EXPECT_EQ(c.pixel(x, y), 0u);
}

} // namespace
