#include "drivers/virtual/pit8254.hpp"
#include "drivers/virtual/system_port.hpp"

#include <gtest/gtest.h>

using namespace pit8254;

namespace {

struct Fixture {
    uint64_t ticks = 1000;
    Pit pit{Clock{&Fixture::now, this}};
    system_port::SystemPort port61{pit};
    static uint64_t now(void* c) { return static_cast<Fixture*>(c)->ticks; }

    uint8_t in(uint16_t port) { return uint8_t(port == 0x61 ? port61.handler().in(&port61, port, 1) : pit.handler().in(&pit, port, 1)); }
    void out(uint16_t port, uint8_t v)
    {
        if (port == 0x61) port61.handler().out(&port61, port, 1, v);
        else pit.handler().out(&pit, port, 1, v);
    }
    uint16_t read16(uint16_t port)
    {
        uint8_t low = in(port);
        return uint16_t(low | in(port) << 8);
    }
};

TEST(Vpit, Mode0CountsDownAndRaisesOutAtTerminalCount)
{
    Fixture f;
    f.out(0x43, 0x30);  // counter 0, LSB then MSB, mode 0
    EXPECT_FALSE(f.pit.out(0, f.ticks));
    f.out(0x40, 0x10);
    f.out(0x40, 0x00);  // 16
    f.ticks += 5;
    EXPECT_EQ(f.read16(0x40), 11);
    EXPECT_FALSE(f.pit.out(0, f.ticks));
    EXPECT_EQ(f.pit.next_rising_edge(0, f.ticks), f.ticks + 11);
    f.ticks += 11;
    EXPECT_TRUE(f.pit.out(0, f.ticks));
    EXPECT_EQ(f.pit.take_rising_edges(0, f.ticks), 1u);
    f.ticks += 100;
    EXPECT_EQ(f.pit.take_rising_edges(0, f.ticks), 0u);  // once per count
    EXPECT_EQ(f.read16(0x40), uint16_t(16 - 116));        // and the counter wraps on
    EXPECT_EQ(f.pit.next_rising_edge(0, f.ticks), kNever);
}

TEST(Vpit, Mode0FirstByteStopsTheCount)
{
    Fixture f;
    f.out(0x43, 0x30);
    f.out(0x40, 4);
    f.out(0x40, 0);
    f.ticks += 10;
    EXPECT_TRUE(f.pit.out(0, f.ticks));
    f.out(0x40, 0x20);
    EXPECT_FALSE(f.pit.out(0, f.ticks));
    f.ticks += 100;
    EXPECT_FALSE(f.pit.out(0, f.ticks));
    f.out(0x40, 0);  // 32 from here
    f.ticks += 31;
    EXPECT_FALSE(f.pit.out(0, f.ticks));
    f.ticks += 1;
    EXPECT_TRUE(f.pit.out(0, f.ticks));
}

TEST(Vpit, Mode2PeriodicEdgesCoalesceAndCountZeroIs65536)
{
    Fixture f;
    f.out(0x43, 0x34);  // counter 0, LSB/MSB, mode 2
    f.out(0x40, 0);
    f.out(0x40, 0);
    uint64_t start = f.ticks;
    EXPECT_EQ(f.pit.next_rising_edge(0, f.ticks), start + 65536);
    f.ticks = start + 65535;
    EXPECT_FALSE(f.pit.out(0, f.ticks));  // low for the last tick of the period
    EXPECT_EQ(f.read16(0x40), 1);
    f.ticks = start + 65536;
    EXPECT_TRUE(f.pit.out(0, f.ticks));
    EXPECT_EQ(f.pit.take_rising_edges(0, f.ticks), 1u);
    f.ticks = start + 5 * 65536 + 7;
    EXPECT_EQ(f.pit.take_rising_edges(0, f.ticks), 4u);
    EXPECT_EQ(f.pit.next_rising_edge(0, f.ticks), start + 6 * 65536);
    EXPECT_EQ(f.read16(0x40), 65536 - 7);
}

TEST(Vpit, Mode3SquareWave)
{
    Fixture f;
    f.out(0x43, 0x36);  // counter 0, LSB/MSB, mode 3
    f.out(0x40, 10);
    f.out(0x40, 0);
    uint64_t start = f.ticks;
    for (uint64_t t = 0; t < 20; ++t) EXPECT_EQ(f.pit.out(0, start + t), t % 10 < 5) << t;
    f.ticks = start + 2;
    EXPECT_EQ(f.read16(0x40), 6);  // counts down by two
    f.ticks = start + 25;
    EXPECT_EQ(f.pit.take_rising_edges(0, f.ticks), 2u);
    f.out(0x43, 0x36);  // odd count: high one tick longer
    f.out(0x40, 5);
    f.out(0x40, 0);
    EXPECT_TRUE(f.pit.out(0, f.ticks + 2));
    EXPECT_FALSE(f.pit.out(0, f.ticks + 3));
}

TEST(Vpit, CounterLatchHoldsUntilBothBytesAreRead)
{
    Fixture f;
    f.out(0x43, 0x34);
    f.out(0x40, 0x00);
    f.out(0x40, 0x10);  // 0x1000
    f.ticks += 0x10;
    f.out(0x43, 0x00);  // latch counter 0
    f.ticks += 0x300;
    f.out(0x43, 0x00);  // a second latch is ignored while the first is unread
    EXPECT_EQ(f.in(0x40), 0xf0);
    f.ticks += 1;
    EXPECT_EQ(f.in(0x40), 0x0f);
    EXPECT_EQ(f.read16(0x40), 0x1000 - 0x311);  // live again
}

TEST(Vpit, LowAndHighOnlyAccess)
{
    Fixture f;
    f.out(0x43, 0x24);  // counter 0, MSB only, mode 2
    f.out(0x40, 0x12);  // 0x1200
    f.ticks += 0x101;
    EXPECT_EQ(f.in(0x40), 0x10);
    EXPECT_EQ(f.in(0x40), 0x10);  // no flip-flop
    f.out(0x43, 0x14);            // LSB only
    f.out(0x40, 0x80);
    f.ticks += 0x10;
    EXPECT_EQ(f.in(0x40), 0x70);
    EXPECT_EQ(f.in(0x43), 0xff);  // the control register is write-only
}

TEST(Vpit, ReadBackLatchesStatusThenCount)
{
    Fixture f;
    f.out(0x43, 0xb0);  // counter 2, LSB/MSB, mode 0
    f.out(0x43, 0xc8);  // read-back count and status of counter 2
    EXPECT_EQ(f.in(0x42), 0x70);  // OUT low, null count, access 3, mode 0
    EXPECT_EQ(f.read16(0x42), 0);  // then the count latched with it (none loaded: 65536)
    f.out(0x42, 0x34);
    f.out(0x42, 0x12);
    f.out(0x43, 0xe8);  // status only
    EXPECT_EQ(f.in(0x42), 0x30);  // count loaded
    f.ticks += 50;  // gate 2 is low (port 0x61 bit 0 clear): counter 2 does not count
    f.out(0x43, 0xd8);  // count only
    EXPECT_EQ(f.read16(0x42), 0x1234);
}

TEST(Vpit, Port61GatesCounter2AndShowsOut2)
{
    Fixture f;
    EXPECT_EQ(f.in(0x61) & 0x21, 0);
    f.out(0x61, 0xff);
    EXPECT_EQ(f.in(0x61) & 0xcf, 0x0f);  // bits 0-3 kept, NMI sources 0
    f.out(0x61, 0x00);
    f.out(0x43, 0xb0);
    f.out(0x42, 100);
    f.out(0x42, 0);
    f.ticks += 500;
    EXPECT_EQ(f.in(0x61) & 0x20, 0);  // gate low: paused
    f.out(0x61, 0x01);
    f.ticks += 99;
    EXPECT_EQ(f.in(0x61) & 0x20, 0);
    f.out(0x61, 0x00);  // pause one tick short
    f.ticks += 1000;
    f.out(0x61, 0x01);
    f.ticks += 1;
    EXPECT_EQ(f.in(0x61) & 0x20, 0x20);
    uint8_t a = f.in(0x61) & 0x10;
    f.ticks += 18;
    EXPECT_NE(f.in(0x61) & 0x10, a);  // refresh toggles
}

TEST(Vpit, GateRisingEdgeReloadsPeriodicModes)
{
    Fixture f;
    f.out(0x61, 0x01);
    f.out(0x43, 0xb6);  // counter 2, mode 3
    f.out(0x42, 20);
    f.out(0x42, 0);
    f.ticks += 13;
    EXPECT_FALSE(f.pit.out(2, f.ticks));
    f.out(0x61, 0x00);
    EXPECT_TRUE(f.pit.out(2, f.ticks));  // low gate: OUT high, stopped
    EXPECT_EQ(f.pit.next_rising_edge(2, f.ticks), kNever);
    f.ticks += 1000;
    f.out(0x61, 0x01);
    EXPECT_EQ(f.pit.next_rising_edge(2, f.ticks), f.ticks + 20);
}

// Linux's quick_pit_calibrate(): mode 0 with 0xffff on counter 2, then MSB reads without a
// latch (LSB read and dropped) that must step down by one every 256 ticks.
TEST(Vpit, LinuxQuickCalibrationSequence)
{
    Fixture f;
    f.out(0x61, (f.in(0x61) & ~0x02) | 0x01);
    f.out(0x43, 0xb0);
    f.out(0x42, 0xff);
    f.out(0x42, 0xff);
    for (unsigned i = 0; i < 40; ++i) {
        f.ticks += 64;
        f.in(0x42);
        EXPECT_EQ(f.in(0x42), uint8_t(0xff - (i + 1) * 64 / 256)) << i;
    }
}

}  // namespace
