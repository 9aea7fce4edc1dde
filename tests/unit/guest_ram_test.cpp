#include "vmx/guest_ram.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace {

TEST(GuestRam, BoundsAndTheHole)
{
    std::vector<uint8_t> bytes(0x200000, 0x5a);
    GuestRam ram{bytes.data(), bytes.size()};
    EXPECT_TRUE(ram.contains(0xa0000, 4));  // no hole set: all of [0, size)
    ram.hole_start = ram.hole_end = 0xa0002;
    EXPECT_TRUE(ram.contains(0xa0000, 4));  // an empty hole anywhere holds nothing
    ram.hole_start = 0xa0000;
    ram.hole_end = 0x100000;
    EXPECT_TRUE(ram.contains(0x9fffc, 4));
    EXPECT_FALSE(ram.contains(0x9fffe, 4));  // straddles the hole's start
    EXPECT_FALSE(ram.contains(0xa0000, 1));
    EXPECT_FALSE(ram.contains(0xffffc, 4));
    EXPECT_FALSE(ram.contains(0xffffe, 4));  // straddles the hole's end
    EXPECT_FALSE(ram.contains(0, 0x200000));
    EXPECT_TRUE(ram.contains(0x100000, 4));
    EXPECT_TRUE(ram.contains(0xa0000, 0));   // the end of the RAM below
    EXPECT_FALSE(ram.contains(0xa0001, 0));
    EXPECT_EQ(ram.at(0xb8000, 2), nullptr);
    uint8_t b = 0;
    EXPECT_FALSE(ram.read(0xc0000, &b, 1));
    EXPECT_FALSE(ram.write(0xc0000, &b, 1));
    EXPECT_TRUE(ram.read(0x100000, &b, 1));
    EXPECT_EQ(b, 0x5a);
    EXPECT_FALSE(ram.contains(0x1ffffc, 8));  // past the end
    EXPECT_FALSE(ram.contains(~0ull, 2));
}

}  // namespace
