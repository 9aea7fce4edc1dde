// fb-expect: what the hypervisor's framebuffer console should show, for tests on the host.
// Built from the hypervisor's own renderer (drivers/fb_text.cpp) and font, so a screendump of a
// run can be compared pixel for pixel with the console text the run printed on its serial port.
//
//   fb-expect render WIDTH HEIGHT OUT.ppm < TEXT   draw TEXT on a fresh WIDTHxHEIGHT screen
//   fb-expect compare SCREEN.ppm < TEXT            draw TEXT at the screen's size and compare
//
// compare exits 0 when every pixel matches, 1 when not (it then prints how many pixels differ,
// the text rows that differ, and what the screen shows in them, read back through the font),
// 2 on bad usage or an unreadable file. Build: g++ -std=c++20 -I. tools/fb-expect.cpp
// drivers/fb_text.cpp drivers/font8x16.cpp (tests/integration/fb_console.sh does).
#include "drivers/fb_text.hpp"
#include "drivers/font8x16.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace {

// PPM (P6, maxval 255) bytes are R, G, B: red at bit 0 of the little-endian 24-bit pixel.
constexpr fb::PixelFormat kPpmFormat{3, 0, 8, 8, 8, 16, 8};

struct Image {
    uint32_t width = 0, height = 0;
    std::vector<uint8_t> rgb;
};

struct Rendered {
    Image image;
    std::vector<char> shadow;
    fb::TextConsole console;
};

void render(Rendered& out, uint32_t width, uint32_t height, const std::string& text)
{
    out.image.width = width;
    out.image.height = height;
    out.image.rgb.assign(size_t(width) * height * 3, 0);
    out.shadow.assign(size_t(width / fb::kCellWidth) * (height / fb::kCellHeight) + 1, ' ');
    fb::Surface surface{out.image.rgb.data(), size_t(width) * 3, width, height, kPpmFormat};
    if (!out.console.init(surface, out.shadow.data(), out.shadow.size())) {
        std::cerr << "fb-expect: cannot draw on " << width << "x" << height << "\n";
        std::exit(2);
    }
    out.console.write(text.data(), text.size());
}

bool read_token(std::istream& in, std::string& token)
{
    token.clear();
    int c;
    while ((c = in.get()) != EOF) {
        if (c == '#') {
            while ((c = in.get()) != EOF && c != '\n') {}
        } else if (!std::isspace(c)) {
            token += char(c);
            break;
        }
    }
    while ((c = in.peek()) != EOF && !std::isspace(c)) token += char(in.get());
    return !token.empty();
}

bool read_ppm(const char* path, Image& image)
{
    std::ifstream in(path, std::ios::binary);
    std::string magic, w, h, maxval;
    if (!in || !read_token(in, magic) || magic != "P6" || !read_token(in, w) || !read_token(in, h) ||
        !read_token(in, maxval) || maxval != "255")
        return false;
    in.get(); // the single blank after maxval
    image.width = uint32_t(std::stoul(w));
    image.height = uint32_t(std::stoul(h));
    image.rgb.resize(size_t(image.width) * image.height * 3);
    in.read(reinterpret_cast<char*>(image.rgb.data()), std::streamsize(image.rgb.size()));
    return size_t(in.gcount()) == image.rgb.size();
}

bool write_ppm(const char* path, const Image& image)
{
    std::ofstream out(path, std::ios::binary);
    out << "P6\n" << image.width << " " << image.height << "\n255\n";
    out.write(reinterpret_cast<const char*>(image.rgb.data()), std::streamsize(image.rgb.size()));
    return bool(out);
}

uint32_t pixel(const Image& image, uint32_t x, uint32_t y)
{
    const uint8_t* p = &image.rgb[(size_t(y) * image.width + x) * 3];
    return uint32_t(p[0]) << 16 | uint32_t(p[1]) << 8 | p[2];
}

// The character a cell of the screen shows, read back through the font: '~' when the cell holds
// anything but one glyph in the console's two colours.
char read_cell(const Image& image, uint32_t row, uint32_t column)
{
    uint8_t rows[16];
    for (uint32_t y = 0; y < 16; ++y) {
        rows[y] = 0;
        for (uint32_t x = 0; x < 8; ++x) {
            uint32_t p = pixel(image, column * 8 + x, row * 16 + y);
            if (p == fb::kForeground) rows[y] |= uint8_t(0x80 >> x);
            else if (p != fb::kBackground) return '~';
        }
    }
    for (int c = font8x16::kFirst; c <= font8x16::kLast; ++c)
        if (std::equal(rows, rows + 16, font8x16::glyph(char(c)))) return char(c);
    return '~';
}

std::string trimmed(std::string s)
{
    s.erase(s.find_last_not_of(' ') + 1);
    return s;
}

int compare(const char* path, const std::string& text)
{
    Image screen;
    if (!read_ppm(path, screen)) {
        std::cerr << "fb-expect: " << path << ": not a readable P6 PPM with maxval 255\n";
        return 2;
    }
    Rendered expected;
    render(expected, screen.width, screen.height, text);
    size_t differing = 0;
    uint32_t first_x = 0, first_y = 0;
    for (uint32_t y = 0; y < screen.height; ++y)
        for (uint32_t x = 0; x < screen.width; ++x)
            if (pixel(screen, x, y) != pixel(expected.image, x, y) && differing++ == 0) first_x = x, first_y = y;
    const fb::TextConsole& console = expected.console;
    std::cout << "fb-expect: screen " << screen.width << "x" << screen.height << ", " << console.columns() << "x"
              << console.rows() << " characters; ";
    if (!differing) {
        std::cout << "every pixel matches\n";
        return 0;
    }
    std::cout << differing << " pixels differ, the first at (" << first_x << "," << first_y << ")\n";
    int shown = 0;
    for (uint32_t r = 0; r < console.rows() && shown < 10; ++r) {
        Str want = console.row_text(r);
        std::string expected_row(want.data, want.size), actual_row;
        for (uint32_t c = 0; c < console.columns(); ++c) actual_row += read_cell(screen, r, c);
        if (actual_row == expected_row) continue;
        ++shown;
        std::cout << "  row " << r << " expected: " << trimmed(expected_row) << "\n"
                  << "  row " << r << " on screen: " << trimmed(actual_row) << "\n";
    }
    if (!shown) std::cout << "  (the text cells match: the difference is in colours or margins)\n";
    return 1;
}

int usage()
{
    std::cerr << "usage: fb-expect render WIDTH HEIGHT OUT.ppm < TEXT\n"
                 "       fb-expect compare SCREEN.ppm < TEXT\n";
    return 2;
}

} // namespace

int main(int argc, char** argv)
{
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    if (argc == 5 && std::string(argv[1]) == "render") {
        Rendered out;
        render(out, uint32_t(std::strtoul(argv[2], nullptr, 0)), uint32_t(std::strtoul(argv[3], nullptr, 0)), text);
        return write_ppm(argv[4], out.image) ? 0 : 2;
    }
    if (argc == 3 && std::string(argv[1]) == "compare") return compare(argv[2], text);
    return usage();
}
