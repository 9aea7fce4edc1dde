#include "vmx/pvclock.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <vector>

using namespace pvclock;

TEST(Pvclock, StructureLayoutIsTheAbi)
{
    EXPECT_EQ(offsetof(VcpuTimeInfo, version), 0u);
    EXPECT_EQ(offsetof(VcpuTimeInfo, tsc_timestamp), 8u);
    EXPECT_EQ(offsetof(VcpuTimeInfo, system_time), 16u);
    EXPECT_EQ(offsetof(VcpuTimeInfo, tsc_to_system_mul), 24u);
    EXPECT_EQ(offsetof(VcpuTimeInfo, tsc_shift), 28u);
    EXPECT_EQ(offsetof(VcpuTimeInfo, flags), 29u);
    EXPECT_EQ(offsetof(WallClock, sec), 4u);
    EXPECT_EQ(offsetof(WallClock, nsec), 8u);
}

TEST(Pvclock, ScaleForKnownRates)
{
    // 1 GHz: 1 tick = 1 ns = (ticks << 1) * 2^31 >> 32.
    EXPECT_EQ(scale_for(1000000000), (Scale{0x80000000u, 1}));
    // 2 GHz: (ticks) * 2^31 >> 32 = ticks / 2.
    EXPECT_EQ(scale_for(2000000000), (Scale{0x80000000u, 0}));
    // 3 GHz: ticks >> 1, times 2^32 * 2/3.
    EXPECT_EQ(scale_for(3000000000), (Scale{0xaaaaaaaau, -1}));
    // 1 MHz: 1000 ns a tick, ticks << 10 (1.024e9) times 1000 * 2^22.
    Scale mhz = scale_for(1000000);
    EXPECT_EQ(mhz, (Scale{1000u << 22, 10}));
    EXPECT_EQ(scale(1, mhz), 1000u);
    EXPECT_EQ(scale(1000000, mhz), 1000000000u);
}

TEST(Pvclock, MultiplierIsNormalisedForEveryRate)
{
    for (uint64_t hz : {1ull, 7ull, 999999999ull, 1000000001ull, 2000000001ull, 2400000000ull, 4294967296ull,
                        100000000000ull}) {
        Scale s = scale_for(hz);
        EXPECT_GE(s.mul, 0x80000000u) << hz;
        // One second of ticks is one second of nanoseconds, within the truncation of mul.
        uint64_t ns = scale(hz, s);
        EXPECT_LE(ns, 1000000000u) << hz;
        EXPECT_GE(ns + 2 + (s.shift < 0 ? (1u << -s.shift) : 0), 1000000000u) << hz;
    }
}

TEST(Pvclock, ScaleOfLargeTickCountsDoesNotOverflow)
{
    Scale s = scale_for(2000000000);
    // 2^62 ticks at 2 GHz: 2^61 ns.
    EXPECT_EQ(scale(1ull << 62, s), 1ull << 61);
}

namespace {

struct Ram {
    std::vector<uint8_t> bytes = std::vector<uint8_t>(0x2000, 0);
    GuestRam view() { return GuestRam{bytes.data(), bytes.size()}; }
};

}  // namespace

TEST(Pvclock, PublishTimeWritesFieldsAndAnEvenNewerVersion)
{
    Ram ram;
    Scale s = scale_for(1000000000);
    ASSERT_TRUE(publish_time(ram.view(), 0x1000, 5000, s, true));
    VcpuTimeInfo info;
    ASSERT_TRUE(ram.view().read(0x1000, &info, sizeof info));
    EXPECT_EQ(info.version, 2u);
    EXPECT_EQ(info.tsc_timestamp, 5000u);
    EXPECT_EQ(info.system_time, 5000u);
    EXPECT_EQ(info.tsc_to_system_mul, s.mul);
    EXPECT_EQ(info.tsc_shift, s.shift);
    EXPECT_EQ(info.flags, tsc_stable_bit);

    ASSERT_TRUE(publish_time(ram.view(), 0x1000, 6000, s, false));
    ram.view().read(0x1000, &info, sizeof info);
    EXPECT_EQ(info.version, 4u);
    EXPECT_EQ(info.flags, 0u);

    // A guest that scribbled an odd version still gets an even, newer one.
    uint32_t odd = 7;
    ram.view().write(0x1000, &odd, 4);
    publish_time(ram.view(), 0x1000, 7000, s, false);
    ram.view().read(0x1000, &info, sizeof info);
    EXPECT_EQ(info.version, 10u);
}

TEST(Pvclock, GuestTimeIsContinuousAcrossPublications)
{
    // The guest's reading: system_time + scale(tsc - tsc_timestamp). Published at different
    // TSCs, it gives the same time for the same TSC (within the 1 ns of truncation).
    Ram ram;
    Scale s = scale_for(2400000000);
    auto read_at = [&](uint64_t tsc) {
        VcpuTimeInfo info;
        ram.view().read(0, &info, sizeof info);
        return info.system_time + scale(tsc - info.tsc_timestamp, Scale{info.tsc_to_system_mul, info.tsc_shift});
    };
    publish_time(ram.view(), 0, 1000000, s, true);
    uint64_t before = read_at(123456789);
    publish_time(ram.view(), 0, 100000000, s, true);
    uint64_t after = read_at(123456789);
    EXPECT_LE(before > after ? before - after : after - before, 1u);
}

TEST(Pvclock, BadAddressesWriteNothing)
{
    Ram ram;
    GuestRam view = ram.view();
    view.hole_start = 0x1000;
    view.hole_end = 0x1800;
    Scale s = scale_for(1000000000);
    EXPECT_FALSE(publish_time(view, 0x2000 - 16, 1, s, true));  // crosses the end of RAM
    EXPECT_FALSE(publish_time(view, 0x1000 - 8, 1, s, true));   // reaches into the hole
    EXPECT_FALSE(publish_wall_clock(view, ~0ull - 4, 1));
    for (uint8_t b : ram.bytes) ASSERT_EQ(b, 0);
}

TEST(Pvclock, WallClockSplitsSecondsAndNanoseconds)
{
    Ram ram;
    ASSERT_TRUE(publish_wall_clock(ram.view(), 0x40, 1700000000123456789ull));
    WallClock clock;
    ram.view().read(0x40, &clock, sizeof clock);
    EXPECT_EQ(clock.version, 2u);
    EXPECT_EQ(clock.sec, 1700000000u);
    EXPECT_EQ(clock.nsec, 123456789u);
}
