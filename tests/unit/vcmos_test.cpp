#include "drivers/virtual/cmos_rtc.hpp"

#include <gtest/gtest.h>

using namespace cmos_rtc;

namespace {

constexpr uint64_t kSecond = 1000000000ull;
constexpr uint64_t kLeapDay = 1709214307ull;  // 2024-02-29 13:45:07 UTC, a Thursday

struct Clock {
    uint64_t ns = kLeapDay * kSecond;
    static uint64_t now(void* c) { return static_cast<Clock*>(c)->ns; }
};

struct Fixture {
    Clock clock;
    CmosRtc rtc{TimeSource{&Clock::now, &clock}, Config{128ull << 20, 0, 2}};
    uint8_t get(uint8_t index)
    {
        rtc.write(0x70, index);
        return rtc.read(0x71);
    }
    void put(uint8_t index, uint8_t value)
    {
        rtc.write(0x70, index);
        rtc.write(0x71, value);
    }
};

TEST(Vcmos, BcdTwentyFourHourByDefault)
{
    Fixture f;
    EXPECT_EQ(f.get(kSeconds), 0x07);
    EXPECT_EQ(f.get(kMinutes), 0x45);
    EXPECT_EQ(f.get(kHours), 0x13);
    EXPECT_EQ(f.get(kWeekday), 5);  // Sunday = 1
    EXPECT_EQ(f.get(kDay), 0x29);
    EXPECT_EQ(f.get(kMonth), 0x02);
    EXPECT_EQ(f.get(kYear), 0x24);
    EXPECT_EQ(f.get(kCentury), 0x20);
    EXPECT_EQ(f.get(kRegA), 0x26);
    EXPECT_EQ(f.get(kRegB), 0x02);
    EXPECT_EQ(f.get(kRegD), 0x80);
}

TEST(Vcmos, BinaryMode)
{
    Fixture f;
    f.put(kRegB, kRegB24h | kRegBBinary);
    EXPECT_EQ(f.get(kSeconds), 7);
    EXPECT_EQ(f.get(kMinutes), 45);
    EXPECT_EQ(f.get(kHours), 13);
    EXPECT_EQ(f.get(kDay), 29);
    EXPECT_EQ(f.get(kMonth), 2);
    EXPECT_EQ(f.get(kYear), 24);
    EXPECT_EQ(f.get(kCentury), 20);
}

TEST(Vcmos, TwelveHourMode)
{
    Fixture f;
    f.put(kRegB, 0);  // BCD, 12-hour
    EXPECT_EQ(f.get(kHours), 0x81);  // 1 PM
    f.clock.ns = 1709166600ull * kSecond;  // 00:30
    EXPECT_EQ(f.get(kHours), 0x12);        // 12 AM
    f.clock.ns = 1709208900ull * kSecond;  // 12:15
    EXPECT_EQ(f.get(kHours), 0x92);        // 12 PM
    f.put(kRegB, kRegBBinary);
    EXPECT_EQ(f.get(kHours), 0x8c);
    f.clock.ns = kLeapDay * kSecond;
    EXPECT_EQ(f.get(kHours), 0x81);
}

TEST(Vcmos, FollowsTheTimeSource)
{
    Fixture f;
    f.clock.ns += 61 * kSecond + kSecond / 2;
    EXPECT_EQ(f.get(kMinutes), 0x46);
    EXPECT_EQ(f.get(kSeconds), 0x08);
    f.clock.ns = 1704067199ull * kSecond;  // 2023-12-31 23:59:59
    EXPECT_EQ(f.get(kYear), 0x23);
    f.clock.ns += kSecond;
    EXPECT_EQ(f.get(kYear), 0x24);
    EXPECT_EQ(f.get(kMonth), 0x01);
    EXPECT_EQ(f.get(kDay), 0x01);
    EXPECT_EQ(f.get(kHours), 0x00);
    EXPECT_EQ(f.get(kSeconds), 0x00);
    EXPECT_EQ(f.get(kWeekday), 2);  // Monday
    f.clock.ns = 946684799ull * kSecond;  // 1999-12-31 23:59:59
    EXPECT_EQ(f.get(kCentury), 0x19);
    f.clock.ns += kSecond;
    EXPECT_EQ(f.get(kCentury), 0x20);
    EXPECT_EQ(f.get(kYear), 0x00);
}

TEST(Vcmos, UpdateInProgressWindow)
{
    Fixture f;
    f.clock.ns = kLeapDay * kSecond + 999'700'000;
    EXPECT_EQ(f.get(kRegA) & kRegAUip, 0);
    f.clock.ns = kLeapDay * kSecond + 999'800'000;
    EXPECT_EQ(f.get(kRegA) & kRegAUip, kRegAUip);
    EXPECT_EQ(f.get(kSeconds), 0x07);  // still the old second, and consistent
    f.clock.ns = (kLeapDay + 1) * kSecond;
    EXPECT_EQ(f.get(kRegA), 0x26);
    EXPECT_EQ(f.get(kSeconds), 0x08);
    f.clock.ns = kLeapDay * kSecond + 999'800'000;
    f.put(kRegB, kRegBSet | kRegB24h);
    EXPECT_EQ(f.get(kRegA) & kRegAUip, 0);  // no updates while SET
    f.put(kRegA, 0xff);
    EXPECT_EQ(f.get(kRegA), 0x7f);  // UIP is read-only
}

TEST(Vcmos, SettingTheClockWithSet)
{
    Fixture f;
    f.put(kRegB, kRegBSet | kRegB24h);
    f.put(kYear, 0x30);
    f.put(kMonth, 0x07);
    f.put(kDay, 0x04);
    f.put(kHours, 0x09);
    f.put(kMinutes, 0x00);
    f.put(kSeconds, 0x00);
    f.clock.ns += 5 * kSecond;  // frozen while SET
    EXPECT_EQ(f.get(kSeconds), 0x00);
    EXPECT_EQ(f.get(kYear), 0x30);
    f.put(kRegB, kRegB24h);
    EXPECT_EQ(f.get(kSeconds), 0x00);
    EXPECT_EQ(f.get(kHours), 0x09);
    EXPECT_EQ(f.get(kDay), 0x04);
    EXPECT_EQ(f.get(kMonth), 0x07);
    EXPECT_EQ(f.get(kYear), 0x30);
    EXPECT_EQ(f.get(kCentury), 0x20);
    EXPECT_EQ(f.get(kWeekday), 5);  // 2030-07-04 is a Thursday
    f.clock.ns += 10 * kSecond;
    EXPECT_EQ(f.get(kSeconds), 0x10);
}

TEST(Vcmos, DirectWritesAndFormats)
{
    Fixture f;
    f.put(kMinutes, 0x10);
    EXPECT_EQ(f.get(kMinutes), 0x10);
    EXPECT_EQ(f.get(kSeconds), 0x07);
    f.clock.ns += 3 * kSecond;
    EXPECT_EQ(f.get(kSeconds), 0x10);
    f.put(kRegB, 0);  // 12-hour BCD
    f.put(kHours, 0x92);  // 12 PM
    f.put(kRegB, kRegB24h);
    EXPECT_EQ(f.get(kHours), 0x12);
    f.put(kRegB, kRegBBinary);  // 12-hour binary
    f.put(kHours, 0x80 | 11);   // 11 PM
    f.put(kRegB, kRegB24h | kRegBBinary);
    EXPECT_EQ(f.get(kHours), 23);
    f.put(kCentury, 21);
    f.put(kYear, 5);
    EXPECT_EQ(f.get(kCentury), 21);
    EXPECT_EQ(f.get(kYear), 5);
}

TEST(Vcmos, WeekdayIsTheGuestsCounter)
{
    Fixture f;
    f.put(kWeekday, 1);
    EXPECT_EQ(f.get(kWeekday), 1);
    f.clock.ns += 86400 * kSecond;
    EXPECT_EQ(f.get(kWeekday), 2);
    f.clock.ns += 6 * 86400 * kSecond;
    EXPECT_EQ(f.get(kWeekday), 1);
}

TEST(Vcmos, StatusRegisters)
{
    Fixture f;
    f.put(kRegB, kRegBSet | kRegBUie | kRegB24h);
    EXPECT_EQ(f.get(kRegB), kRegBSet | kRegB24h);  // SET clears UIE
    f.put(kRegB, kRegB24h);
    f.put(kRegD, 0);
    EXPECT_EQ(f.get(kRegD), 0x80);
    f.put(kRegC, 0xff);
    EXPECT_EQ(f.get(kRegC), 0);
}

TEST(Vcmos, RegisterCFlagsAreSinceTheLastRead)
{
    Fixture f;
    f.put(kRegA, 0x20);  // periodic rate off
    EXPECT_EQ(f.get(kRegC), 0);
    f.clock.ns += kSecond;
    EXPECT_EQ(f.get(kRegC), kRegCUf);
    EXPECT_EQ(f.get(kRegC), 0);  // cleared by the read
    f.put(kRegB, kRegB24h | kRegBUie);
    f.clock.ns += kSecond;
    EXPECT_EQ(f.get(kRegC), kRegCIrqf | kRegCUf);

    f.put(kRegB, kRegB24h);
    f.put(kRegA, 0x26);  // 1024 Hz: one period is 976.5625 us
    f.clock.ns = (kLeapDay + 5) * kSecond + 10'000;  // just after a period boundary
    f.get(kRegC);
    f.clock.ns += 500'000;
    EXPECT_EQ(f.get(kRegC), 0);
    f.clock.ns += 500'000;
    EXPECT_EQ(f.get(kRegC), kRegCPf);
    f.put(kRegB, kRegB24h | kRegBPie);
    f.clock.ns += 1'000'000;
    EXPECT_EQ(f.get(kRegC), kRegCIrqf | kRegCPf);
}

TEST(Vcmos, IndexPortAndNmi)
{
    Fixture f;
    f.rtc.write(0x70, 0x8f);
    EXPECT_TRUE(f.rtc.nmi_disabled());
    EXPECT_EQ(f.rtc.index(), 0x0f);
    EXPECT_EQ(f.rtc.read(0x70), 0xff);
    f.rtc.write(0x71, 0xa5);
    EXPECT_EQ(f.rtc.read(0x71), 0xa5);
    f.rtc.write(0x70, 0x0f);
    EXPECT_FALSE(f.rtc.nmi_disabled());
    EXPECT_EQ(f.rtc.read(0x71), 0xa5);
}

TEST(Vcmos, NvramAndMemorySizes)
{
    Fixture f;
    f.put(0x40, 0x5a);
    f.put(0x7f, 0xa5);
    EXPECT_EQ(f.get(0x40), 0x5a);
    EXPECT_EQ(f.get(0x7f), 0xa5);
    // 128 MiB below 4 GiB, 2 CPUs.
    EXPECT_EQ(f.get(0x15), 0x80);  // 640 KiB base memory
    EXPECT_EQ(f.get(0x16), 0x02);
    EXPECT_EQ(f.get(0x17), 0xff);  // extended memory capped at 65535 KiB
    EXPECT_EQ(f.get(0x18), 0xff);
    EXPECT_EQ(f.get(0x30), 0xff);
    EXPECT_EQ(f.get(0x31), 0xff);
    EXPECT_EQ(f.get(0x34), 0x00);  // (128 - 16) MiB / 64 KiB = 0x700
    EXPECT_EQ(f.get(0x35), 0x07);
    EXPECT_EQ(f.get(0x5f), 1);
    EXPECT_EQ(f.get(0x14), 0x02);
    unsigned sum = 0;
    for (uint8_t i = 0x10; i <= 0x2d; ++i) sum += f.get(i);
    EXPECT_EQ(f.get(0x2e) << 8 | f.get(0x2f), sum & 0xffff);
}

TEST(Vcmos, SmallAndLargeMemory)
{
    Clock clock;
    CmosRtc small{TimeSource{&Clock::now, &clock}, Config{32ull << 20, 0, 1}};
    auto get = [](CmosRtc& r, uint8_t i) {
        r.write(0x70, i);
        return r.read(0x71);
    };
    EXPECT_EQ(get(small, 0x17) | get(small, 0x18) << 8, 31744);  // 32 MiB - 1 MiB in KiB
    EXPECT_EQ(get(small, 0x30) | get(small, 0x31) << 8, 31744);
    EXPECT_EQ(get(small, 0x34) | get(small, 0x35) << 8, 0x100);  // 16 MiB / 64 KiB
    EXPECT_EQ(get(small, 0x5f), 0);
    CmosRtc tiny{TimeSource{&Clock::now, &clock}, Config{8ull << 20, 0, 1}};
    EXPECT_EQ(get(tiny, 0x34) | get(tiny, 0x35) << 8, 0);
    CmosRtc large{TimeSource{&Clock::now, &clock}, Config{3ull << 30, 4ull << 30, 8}};
    EXPECT_EQ(get(large, 0x5b) | get(large, 0x5c) << 8 | get(large, 0x5d) << 16, 0x10000);  // 4 GiB / 64 KiB
    EXPECT_EQ(get(large, 0x34) | get(large, 0x35) << 8, 0xbf00);
    EXPECT_EQ(get(large, 0x5f), 7);
}

TEST(Vcmos, IoBusWordAccess)
{
    Fixture f;
    io_bus::IoBus bus;
    ASSERT_TRUE(bus.add(f.rtc.handler()));
    bus.dispatch_out(0x70, 2, 0x5540);  // index 0x40, then data 0x55
    EXPECT_EQ(f.get(0x40), 0x55);
    bus.dispatch_out(0x70, 1, 0x00);
    EXPECT_EQ(bus.dispatch_in(0x71, 1), 0x07u);
    EXPECT_EQ(bus.dispatch_in(0x72, 1), 0xffu);  // no extended CMOS bank
}

}  // namespace

namespace {

TEST(Vcmos, NullTimeSourceReadsTheEpoch)
{
    CmosRtc rtc{TimeSource{}, Config{}};
    rtc.write(0x70, kYear);
    EXPECT_EQ(rtc.read(0x71), 0x70);
    rtc.write(0x70, kCentury);
    EXPECT_EQ(rtc.read(0x71), 0x19);
    rtc.write(0x70, kRegC);
    EXPECT_EQ(rtc.read(0x71), 0);
}

}  // namespace
