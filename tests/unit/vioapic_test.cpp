#include "drivers/virtual/ioapic.hpp"

#include <gtest/gtest.h>

#include <vector>

using namespace ioapic;

namespace {

struct Fixture {
    std::vector<Message> sent;
    Ioapic io{Delivery{&Fixture::deliver, this}};
    static void deliver(void* c, const Message& m) { static_cast<Fixture*>(c)->sent.push_back(m); }

    uint32_t get(uint8_t index)
    {
        uint64_t v = 0;
        EXPECT_TRUE(io.write(0x00, 4, index));
        EXPECT_TRUE(io.read(0x10, 4, v));
        return uint32_t(v);
    }
    void put(uint8_t index, uint32_t value)
    {
        EXPECT_TRUE(io.write(0x00, 4, index));
        EXPECT_TRUE(io.write(0x10, 4, value));
    }
    void route(unsigned pin, uint32_t low, uint8_t destination = 0)
    {
        put(uint8_t(0x11 + 2 * pin), uint32_t(destination) << 24);
        put(uint8_t(0x10 + 2 * pin), low);
    }
};

constexpr uint32_t kMasked = 1u << 16, kLevel = 1u << 15, kRemoteIrr = 1u << 14, kActiveLow = 1u << 13;
constexpr uint32_t kLogical = 1u << 11;

TEST(Vioapic, IdVersionArbitrationAndResetState)
{
    Fixture f;
    EXPECT_EQ(f.get(1), 0x00170011u);
    EXPECT_EQ(f.get(0), 0u);
    f.put(0, 0x0f000000);
    EXPECT_EQ(f.get(0), 0x0f000000u);
    EXPECT_EQ(f.get(2), 0x0f000000u);
    f.put(1, 0);  // read-only
    EXPECT_EQ(f.get(1), 0x00170011u);
    for (unsigned pin = 0; pin < kPins; ++pin) {
        EXPECT_EQ(f.get(uint8_t(0x10 + 2 * pin)), kMasked) << pin;
        EXPECT_EQ(f.get(uint8_t(0x11 + 2 * pin)), 0u) << pin;
    }
    EXPECT_EQ(f.get(0x10 + 2 * kPins), 0u);  // past the table
    uint64_t select = 0;
    EXPECT_TRUE(f.io.read(0x00, 4, select));
    EXPECT_EQ(select, 0x10u + 2 * kPins);
}

TEST(Vioapic, RedirectionEntryReadOnlyBitsIgnored)
{
    Fixture f;
    f.put(0x10, 0xffffffff);
    EXPECT_EQ(f.get(0x10), 0x1afffu);  // no delivery status, no remote IRR, bits 31:17 reserved
    f.put(0x11, 0xffffffff);
    EXPECT_EQ(f.get(0x11), 0xff000000u);
}

TEST(Vioapic, EveryWidthReachesTheRegistersByteLaneByByteLane)
{
    Fixture f;
    uint64_t v;
    EXPECT_TRUE(f.io.write(0x00, 1, 0x01));  // byte IOREGSEL
    EXPECT_TRUE(f.io.read(0x10, 1, v));
    EXPECT_EQ(v, 0x11u);
    EXPECT_TRUE(f.io.read(0x12, 2, v));
    EXPECT_EQ(v, 0x0017u);
    EXPECT_TRUE(f.io.read(0x11, 1, v));
    EXPECT_EQ(v, 0x00u);
    // IOREGSEL's bits 31:8 are reserved: a dword write keeps only the index, they read 0.
    EXPECT_TRUE(f.io.write(0x00, 4, 0xabcd1210u));
    EXPECT_TRUE(f.io.read(0x00, 4, v));
    EXPECT_EQ(v, 0x10u);
    EXPECT_TRUE(f.io.write(0x01, 1, 0x11));
    EXPECT_TRUE(f.io.read(0x00, 1, v));
    EXPECT_EQ(v, 0x10u);
    // A byte write to IOWIN changes only its lane of entry 0's low half.
    EXPECT_TRUE(f.io.write(0x10, 1, 0x42));
    EXPECT_EQ(f.get(0x10), kMasked | 0x42u);
    EXPECT_TRUE(f.io.write(0x00, 1, 0x10));
    EXPECT_TRUE(f.io.write(0x12, 2, 0x0000));  // unmask, bits 31:16
    EXPECT_EQ(f.get(0x10), 0x42u);
    // A 64-bit access at 0x0C: bytes 0x0C-0x0F decode to nothing, 0x10-0x13 are IOWIN.
    EXPECT_TRUE(f.io.write(0x00, 4, 0x10));
    EXPECT_TRUE(f.io.read(0x0c, 8, v));
    EXPECT_EQ(v, 0x00000042ffffffffull);
    EXPECT_TRUE(f.io.write(0x0c, 8, 0x00010051ffffffffull));
    EXPECT_EQ(f.get(0x10), kMasked | 0x51u);
    EXPECT_TRUE(f.sent.empty());
}

TEST(Vioapic, RestOfThePageReadsAllOnesAndIgnoresWrites)
{
    Fixture f;
    uint64_t v;
    EXPECT_TRUE(f.io.read(0x04, 4, v));
    EXPECT_EQ(v, 0xffffffffu);
    EXPECT_TRUE(f.io.write(0x40, 4, 0x30));  // no EOI register on version 0x11
    EXPECT_TRUE(f.io.read(0xff8, 8, v));
    EXPECT_EQ(v, ~0ull);
    EXPECT_TRUE(f.io.write(0x14, 4, 0xffffffffu));
    EXPECT_EQ(f.get(0x10), kMasked);
    EXPECT_EQ(f.get(0x40), 0u);  // past entry 23: no register
    f.put(0x40, 0xffffffffu);
    EXPECT_EQ(f.get(0x40), 0u);
    EXPECT_EQ(f.get(1), 0x00170011u);
    // Outside the page, or a size the bus never sends: refused.
    EXPECT_FALSE(f.io.read(0xffe, 4, v));
    EXPECT_FALSE(f.io.write(0x1000, 1, 0));
    EXPECT_FALSE(f.io.read(0x10, 3, v));
    mmio_bus::Region r = f.io.region();
    EXPECT_EQ(r.base, kBase);
    EXPECT_EQ(r.length, 0x1000u);
}

TEST(Vioapic, EdgeDeliversOnRisingEdgeOnlyWhenUnmasked)
{
    Fixture f;
    f.io.set_pin(2, true);  // masked: lost
    f.io.set_pin(2, false);
    EXPECT_TRUE(f.sent.empty());
    f.route(2, 0x30 | kLogical | (1u << 8), 0x03);  // lowest priority, logical 0x03
    f.io.set_pin(2, true);
    f.io.set_pin(2, true);  // still high: no new edge
    ASSERT_EQ(f.sent.size(), 1u);
    EXPECT_EQ(f.sent[0].vector, 0x30);
    EXPECT_EQ(f.sent[0].delivery_mode, DeliveryMode::lowest_priority);
    EXPECT_TRUE(f.sent[0].logical);
    EXPECT_EQ(f.sent[0].destination, 0x03);
    EXPECT_FALSE(f.sent[0].level);
    f.io.set_pin(2, false);
    f.io.set_pin(2, true);
    EXPECT_EQ(f.sent.size(), 2u);
    f.io.eoi(0x30);  // edge entries ignore EOIs
    EXPECT_EQ(f.sent.size(), 2u);
}

TEST(Vioapic, ActiveLowEdgeFiresOnFallingEdge)
{
    Fixture f;
    f.io.set_pin(5, true);
    f.route(5, 0x40 | kActiveLow);
    EXPECT_TRUE(f.sent.empty());
    f.io.set_pin(5, false);
    EXPECT_EQ(f.sent.size(), 1u);
    f.io.set_pin(5, true);
    EXPECT_EQ(f.sent.size(), 1u);
}

TEST(Vioapic, LevelSetsRemoteIrrAndRedeliversAfterEoiWhileAsserted)
{
    Fixture f;
    f.io.set_pin(9, true);  // idle (active low)
    f.route(9, 0x51 | kLevel | kActiveLow, 1);
    EXPECT_TRUE(f.sent.empty());
    f.io.set_pin(9, false);  // asserted
    ASSERT_EQ(f.sent.size(), 1u);
    EXPECT_TRUE(f.sent[0].level);
    EXPECT_EQ(f.sent[0].destination, 1);
    EXPECT_TRUE(f.get(0x10 + 2 * 9) & kRemoteIrr);
    f.io.eoi(0x52);  // another vector: nothing
    EXPECT_TRUE(f.get(0x10 + 2 * 9) & kRemoteIrr);
    EXPECT_EQ(f.sent.size(), 1u);
    f.io.eoi(0x51);  // still asserted: again
    EXPECT_EQ(f.sent.size(), 2u);
    EXPECT_TRUE(f.get(0x10 + 2 * 9) & kRemoteIrr);
    f.io.set_pin(9, true);  // the device is served
    f.io.eoi(0x51);
    EXPECT_EQ(f.sent.size(), 2u);
    EXPECT_FALSE(f.get(0x10 + 2 * 9) & kRemoteIrr);
}

TEST(Vioapic, UnmaskingAnAssertedLevelPinDelivers)
{
    Fixture f;
    f.route(4, 0x60 | kLevel | kMasked);
    f.io.set_pin(4, true);
    EXPECT_TRUE(f.sent.empty());
    f.route(4, 0x60 | kLevel);
    EXPECT_EQ(f.sent.size(), 1u);
    f.route(4, 0x60 | kLevel | kMasked);  // Remote IRR stays set while masked
    f.route(4, 0x60 | kLevel);
    EXPECT_EQ(f.sent.size(), 1u);
    f.io.eoi(0x60);
    EXPECT_EQ(f.sent.size(), 2u);
}

TEST(Vioapic, DeliveryModesAndPhysicalDestination)
{
    Fixture f;
    f.route(0, 0x00 | (4u << 8), 2);  // NMI
    f.route(1, 0x00 | (7u << 8), 0);  // ExtINT
    f.route(3, 0x00 | (5u << 8), 0xff);  // INIT broadcast
    f.io.set_pin(0, true);
    f.io.set_pin(1, true);
    f.io.set_pin(3, true);
    ASSERT_EQ(f.sent.size(), 3u);
    EXPECT_EQ(f.sent[0].delivery_mode, DeliveryMode::nmi);
    EXPECT_FALSE(f.sent[0].logical);
    EXPECT_EQ(f.sent[0].destination, 2);
    EXPECT_EQ(f.sent[1].delivery_mode, DeliveryMode::extint);
    EXPECT_EQ(f.sent[2].delivery_mode, DeliveryMode::init);
    EXPECT_EQ(f.sent[2].destination, 0xff);
    f.io.set_pin(99, true);  // no such pin: ignored
    EXPECT_EQ(f.sent.size(), 3u);
}

}  // namespace
