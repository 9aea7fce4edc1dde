#include "lib/byte_ring.hpp"

#include <gtest/gtest.h>

#include <string>

template <size_t N>
std::string take_all(ByteRing<N>& ring)
{
    std::string out;
    for (; !ring.empty(); ring.pop()) out += ring.front();
    return out;
}

TEST(ByteRing, KeepsOrderAcrossTheWrap)
{
    ByteRing<8> ring;
    std::string sent, received;
    for (int round = 0; round < 20; ++round) {
        std::string line = "ab" + std::to_string(round % 10);
        ASSERT_TRUE(ring.push(line.data(), line.size()));
        sent += line;
        received += ring.front();  // take one byte per round: the ring fills and wraps
        ring.pop();
        if (ring.room() < 3) received += take_all(ring);
    }
    received += take_all(ring);
    EXPECT_EQ(received, sent);
}

TEST(ByteRing, APushThatDoesNotFitAddsNothing)
{
    ByteRing<8> ring;
    ASSERT_TRUE(ring.push("12345", 5));
    EXPECT_FALSE(ring.push("6789", 4));
    EXPECT_EQ(ring.size(), 5u);
    EXPECT_TRUE(ring.push("678", 3));
    EXPECT_EQ(ring.room(), 0u);
    EXPECT_FALSE(ring.push("9", 1));
    EXPECT_EQ(take_all(ring), "12345678");
}

TEST(ByteRing, ClearDropsEverythingQueued)
{
    ByteRing<8> ring;
    ring.push("abcdef", 6);
    ring.pop();
    ring.clear();
    EXPECT_TRUE(ring.empty());
    EXPECT_EQ(ring.room(), 8u);
    ring.push("xy", 2);
    EXPECT_EQ(take_all(ring), "xy");
}
