#include "lib/shared_byte_ring.hpp"

#include <gtest/gtest.h>

#include <string>

template <size_t N, size_t W>
std::string take_all(SharedByteRing<N, W>& ring)
{
    std::string out;
    for (; !ring.empty(); ring.pop()) out += ring.front();
    return out;
}

TEST(SharedByteRing, KeepsOrderAcrossTheWrap)
{
    SharedByteRing<8, 1> ring;
    std::string sent, received;
    for (int round = 0; round < 20; ++round) {
        std::string line = "ab" + std::to_string(round % 10);
        ASSERT_TRUE(ring.push(0, line.data(), line.size()));
        sent += line;
        received += ring.front();  // take one byte per round: the ring fills and wraps
        ring.pop();
        if (ring.room() < 3) received += take_all(ring);
    }
    received += take_all(ring);
    EXPECT_EQ(received, sent);
}

TEST(SharedByteRing, APushThatDoesNotFitAddsNothing)
{
    SharedByteRing<8, 1> ring;
    ASSERT_TRUE(ring.push(0, "12345", 5));
    EXPECT_FALSE(ring.push(0, "6789", 4));
    EXPECT_EQ(ring.size(), 5u);
    EXPECT_TRUE(ring.push(0, "678", 3));
    EXPECT_EQ(ring.room(), 0u);
    EXPECT_FALSE(ring.push(0, "9", 1));
    EXPECT_EQ(take_all(ring), "12345678");
}

TEST(SharedByteRing, ClearDropsEverythingQueued)
{
    SharedByteRing<8, 1> ring;
    ring.push(0, "abcdef", 6);
    ring.pop();
    ring.clear();
    EXPECT_TRUE(ring.empty());
    EXPECT_EQ(ring.room(), 8u);
    ring.push(0, "xy", 2);
    EXPECT_EQ(take_all(ring), "xy");
}

TEST(SharedByteRing, AWriterAtItsLimitGetsNoMoreWhileOthersStillDo)
{
    SharedByteRing<32, 3> ring;
    ring.set_limit(1, 4);
    ring.set_limit(2, 4);
    EXPECT_TRUE(ring.push(1, "abc", 3));
    EXPECT_EQ(ring.room_for(1), 1u);
    EXPECT_FALSE(ring.push(1, "de", 2));
    EXPECT_TRUE(ring.push(2, "wxyz", 4));
    EXPECT_TRUE(ring.push(0, "hypervisor", 10));  // writer 0 keeps the whole ring as its limit
    EXPECT_EQ(ring.queued(1), 3u);
    EXPECT_EQ(ring.queued(2), 4u);
    EXPECT_EQ(ring.queued(0), 10u);
}

TEST(SharedByteRing, SendingAWritersBytesGivesItsRoomBack)
{
    SharedByteRing<16, 3> ring;
    ring.set_limit(1, 4);
    ring.push(2, "xy", 2);
    ring.push(1, "abcd", 4);
    EXPECT_EQ(ring.room_for(1), 0u);
    ring.pop();  // writer 2's bytes go first: writer 1 still has no room
    ring.pop();
    EXPECT_EQ(ring.room_for(1), 0u);
    EXPECT_EQ(ring.queued(2), 0u);
    ring.pop();
    EXPECT_EQ(ring.room_for(1), 1u);
    EXPECT_EQ(take_all(ring), "bcd");
    EXPECT_EQ(ring.room_for(1), 4u);
}

TEST(SharedByteRing, TheRingsRoomBoundsEveryWriter)
{
    SharedByteRing<8, 2> ring;
    ring.set_limit(1, 6);
    ring.push(0, "123456", 6);
    EXPECT_EQ(ring.room_for(1), 2u);
    EXPECT_FALSE(ring.push(1, "abc", 3));
    EXPECT_TRUE(ring.push(1, "ab", 2));
}

TEST(SharedByteRing, ClearForgetsEveryWritersBytes)
{
    SharedByteRing<8, 2> ring;
    ring.set_limit(1, 3);
    ring.push(1, "abc", 3);
    ring.clear();
    EXPECT_EQ(ring.queued(1), 0u);
    EXPECT_EQ(ring.room_for(1), 3u);
}
