#include "vmx/steal_time.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <vector>

using namespace steal_time;

namespace {

struct Ram {
    std::vector<uint8_t> bytes = std::vector<uint8_t>(0x1000, 0);
    GuestRam view() { return GuestRam{bytes.data(), bytes.size()}; }
    Record record(uint64_t gpa)
    {
        Record r;
        view().read(gpa, &r, sizeof r);
        return r;
    }
};

}  // namespace

TEST(StealTime, LayoutIsKvms)
{
    EXPECT_EQ(offsetof(Record, steal), 0u);
    EXPECT_EQ(offsetof(Record, version), 8u);
    EXPECT_EQ(offsetof(Record, flags), 12u);
    EXPECT_EQ(offsetof(Record, preempted), 16u);
}

TEST(StealTime, MsrValueReservedBits)
{
    EXPECT_TRUE(valid_msr_value(0x1000 | enable_bit));
    EXPECT_TRUE(valid_msr_value(0));
    for (unsigned bit = 1; bit < 6; ++bit) EXPECT_FALSE(valid_msr_value(0x1000 | (1ull << bit))) << bit;
    EXPECT_EQ((0x12345ull | enable_bit) & address_mask, 0x12340u);
}

TEST(StealTime, PublishWritesStealWithAnEvenNewerVersionAndClearsPreempted)
{
    Ram ram;
    ASSERT_TRUE(mark_preempted(ram.view(), 0x40));
    EXPECT_EQ(ram.record(0x40).preempted, vcpu_preempted);
    ASSERT_TRUE(publish(ram.view(), 0x40, 12345));
    Record r = ram.record(0x40);
    EXPECT_EQ(r.steal, 12345u);
    EXPECT_EQ(r.version, 2u);
    EXPECT_EQ(r.preempted, 0u);
    ASSERT_TRUE(publish(ram.view(), 0x40, 20000));
    EXPECT_EQ(ram.record(0x40).version, 4u);
    uint32_t odd = 5;
    ram.view().write(0x40 + 8, &odd, 4);
    publish(ram.view(), 0x40, 1);
    EXPECT_EQ(ram.record(0x40).version, 8u);
}

TEST(StealTime, OutsideRamWritesNothing)
{
    Ram ram;
    EXPECT_FALSE(publish(ram.view(), 0x1000 - 32, 1));
    EXPECT_FALSE(mark_preempted(ram.view(), 0x1000));
    EXPECT_FALSE(publish(ram.view(), ~0ull & address_mask, 1));
    for (uint8_t b : ram.bytes) ASSERT_EQ(b, 0);
}
