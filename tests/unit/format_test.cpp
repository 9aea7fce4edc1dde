#include "lib/format.hpp"

#include <gtest/gtest.h>

#include <string>

template <class... Args>
std::string fmt(const char* pattern, const Args&... args)
{
    char buffer[256];
    format_to(buffer, sizeof buffer, pattern, args...);
    return buffer;
}

TEST(Format, PlainPlaceholders)
{
    EXPECT_EQ(fmt("cpu {} of {}", 3u, 4), "cpu 3 of 4");
    EXPECT_EQ(fmt("{} {}", "abc", Str("xyz", 2)), "abc xy");
    EXPECT_EQ(fmt("{}", -42), "-42");
    EXPECT_EQ(fmt("{}", INT64_MIN), "-9223372036854775808");
    EXPECT_EQ(fmt("{}", UINT64_MAX), "18446744073709551615");
    EXPECT_EQ(fmt("{} {}", true, false), "yes no");
    EXPECT_EQ(fmt("{}", 'q'), "q");
}

TEST(Format, HexWidthAndPadding)
{
    EXPECT_EQ(fmt("{:x}", 0xdeadu), "dead");
    EXPECT_EQ(fmt("{:X}", 0xbeefu), "BEEF");
    EXPECT_EQ(fmt("{:#x}", 255u), "0xff");
    EXPECT_EQ(fmt("{:016x}", 0x1234u), "0000000000001234");
    EXPECT_EQ(fmt("{:08#x}", 0x12u), "0x000012");
    EXPECT_EQ(fmt("[{:5}]", 42u), "[   42]");
    EXPECT_EQ(fmt("[{:<5}]", 42u), "[42   ]");
    EXPECT_EQ(fmt("[{:<6}]", "ab"), "[ab    ]");
    EXPECT_EQ(fmt("{:x}", int8_t(-1)), "ffffffffffffffff");
}

TEST(Format, PointersAndBytes)
{
    EXPECT_EQ(fmt("{}", reinterpret_cast<const void*>(0x1000)), "0x1000");
    EXPECT_EQ(fmt("{}", Bytes{128ull << 20}), "128 MiB");
    EXPECT_EQ(fmt("{}", Bytes{1536ull << 10}), "1536 KiB");
    EXPECT_EQ(fmt("{}", Bytes{4ull << 30}), "4 GiB");
    EXPECT_EQ(fmt("{}", Bytes{1000}), "1000 B");
    EXPECT_EQ(fmt("{}", Bytes{0}), "0 B");
}

TEST(Format, EscapesAndMalformedPatterns)
{
    EXPECT_EQ(fmt("{{}} {}", 1u), "{} 1");
    EXPECT_EQ(fmt("{} {}", 1u), "1 {?}");
    EXPECT_EQ(fmt("{:q?} {}", 5u), "{:q?} 5");
    EXPECT_EQ(fmt("open { brace", 1u), "open { brace");
    EXPECT_EQ(fmt("}}"), "}");
}

TEST(Format, TruncatesToBuffer)
{
    char buffer[6];
    size_t n = format_to(buffer, sizeof buffer, "{}", "abcdefgh");
    EXPECT_EQ(n, 5u);
    EXPECT_STREQ(buffer, "abcde");
    EXPECT_EQ(format_to(buffer, 0, "x"), 0u);
}

TEST(Format, EnumsPrintTheirValue)
{
    enum class Color : uint8_t { red = 7 };
    EXPECT_EQ(fmt("{}", Color::red), "7");
}
