#include "drivers/virtual/acpi_pm.hpp"
#include "drivers/virtual/kbc_reset.hpp"

#include <gtest/gtest.h>

using namespace acpi_pm;

namespace {

struct Fixture {
    uint64_t ticks = 0x12345678;
    int power_offs = 0;
    AcpiPm pm{Clock{&Fixture::now, this}, PowerSink{&Fixture::off, this}};
    static uint64_t now(void* c) { return static_cast<Fixture*>(c)->ticks; }
    static void off(void* c) { ++static_cast<Fixture*>(c)->power_offs; }
    uint32_t in(uint16_t port, uint8_t size) { return pm.handler().in(&pm, port, size); }
    void out(uint16_t port, uint8_t size, uint32_t v) { pm.handler().out(&pm, port, size, v); }
};

TEST(VacpiPm, TimerIs24BitsOfTheClock)
{
    Fixture f;
    EXPECT_EQ(f.in(kPmTimer, 4), 0x345678u);
    f.ticks += kTimerHz;  // one second
    EXPECT_EQ(f.in(kPmTimer, 4), (0x12345678u + 3579545u) & 0xffffffu);
    EXPECT_EQ(f.in(kPmTimer + 2, 1), ((0x12345678u + 3579545u) >> 16) & 0xffu);
    f.out(kPmTimer, 4, 0);  // read-only
    EXPECT_EQ(f.in(kPmTimer, 4), (0x12345678u + 3579545u) & 0xffffffu);
}

TEST(VacpiPm, AlwaysInAcpiModeAndControlBits)
{
    Fixture f;
    EXPECT_EQ(f.in(kPm1aControl, 2) & kSciEnable, kSciEnable);
    f.out(kPm1aControl, 2, 0x0002 | (3u << 10));
    EXPECT_EQ(f.in(kPm1aControl, 2), 0x0003u | (3u << 10));
    EXPECT_EQ(f.in(kPm1aControl + 2, 2), 0xffffu);  // reserved
    EXPECT_EQ(f.power_offs, 0);
}

TEST(VacpiPm, StatusIsWriteOneToClearAndEnableIsStorage)
{
    Fixture f;
    EXPECT_EQ(f.in(kPm1aEvent, 2), 0u);
    f.out(kPm1aEvent, 2, 0xffff);
    EXPECT_EQ(f.in(kPm1aEvent, 2), 0u);
    f.out(kPm1aEvent + 2, 2, 0xffff);
    EXPECT_EQ(f.in(kPm1aEvent + 2, 2), 0x0721u);
}

// ACPICA's acpi_hw_legacy_sleep(): SLP_TYP first, then SLP_TYP | SLP_EN.
TEST(VacpiPm, SleepEnableWithS5PowersOff)
{
    Fixture f;
    uint16_t cnt = uint16_t(f.in(kPm1aControl, 2) & ~(7u << 10));
    f.out(kPm1aControl, 2, cnt | (kS5SleepType << 10));
    EXPECT_EQ(f.power_offs, 0);
    f.out(kPm1aControl, 2, cnt | (kS5SleepType << 10) | kSleepEnable);
    EXPECT_EQ(f.power_offs, 1);
    EXPECT_EQ(f.in(kPm1aControl, 2) & kSleepEnable, 0u);  // write-only
}

TEST(VacpiPm, OtherSleepTypesDoNothing)
{
    Fixture f;
    f.out(kPm1aControl, 2, (1u << 10) | kSleepEnable);
    f.out(kPm1aControl + 1, 1, uint8_t(((5u << 10) | kSleepEnable) >> 8));
    EXPECT_EQ(f.power_offs, 0);
    f.out(kPm1aControl + 1, 1, uint8_t(((kS5SleepType << 10) | kSleepEnable) >> 8));  // a byte write
    EXPECT_EQ(f.power_offs, 1);
}

TEST(VkbcReset, PulseResetCommands)
{
    int resets = 0;
    kbc_reset::KbcReset kbc{kbc_reset::ResetSink{[](void* c) { ++*static_cast<int*>(c); }, &resets}};
    io_bus::Handler h = kbc.handler();
    EXPECT_EQ(h.first, 0x64);
    EXPECT_EQ(h.in(&kbc, 0x64, 1), 0u);  // buffers empty
    h.out(&kbc, 0x64, 1, 0xad);
    h.out(&kbc, 0x64, 1, 0xff);  // pulses nothing (bit 0 set)
    EXPECT_EQ(resets, 0);
    h.out(&kbc, 0x64, 1, 0xfe);
    EXPECT_EQ(resets, 1);
    h.out(&kbc, 0x64, 1, 0xf0);
    EXPECT_EQ(resets, 2);
}

}  // namespace
