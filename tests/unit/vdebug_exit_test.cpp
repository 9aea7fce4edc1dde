#include "drivers/virtual/debug_exit.hpp"

#include <gtest/gtest.h>

#include <vector>

using namespace debug_exit;

namespace {

struct Recorder {
    std::vector<uint32_t> values;
    static void ended(void* c, uint32_t v) { static_cast<Recorder*>(c)->values.push_back(v); }
};

TEST(VdebugExit, ByteWriteEndsWithTheRawValue)
{
    Recorder rec;
    DebugExit dev{Sink{&Recorder::ended, &rec}};
    io_bus::IoBus bus;
    ASSERT_TRUE(bus.add(dev.handler()));
    EXPECT_FALSE(dev.ended());
    bus.dispatch_out(0xf4, 1, 0);
    EXPECT_TRUE(dev.ended());
    EXPECT_EQ(dev.value(), 0u);
    EXPECT_EQ(rec.values, std::vector<uint32_t>{0});
    // The first write wins.
    bus.dispatch_out(0xf4, 1, 5);
    EXPECT_EQ(dev.value(), 0u);
    EXPECT_EQ(rec.values.size(), 1u);
}

TEST(VdebugExit, WordAndDwordWrites)
{
    for (uint8_t size : {uint8_t(2), uint8_t(4)}) {
        Recorder rec;
        DebugExit dev{Sink{&Recorder::ended, &rec}};
        io_bus::IoBus bus;
        ASSERT_TRUE(bus.add(dev.handler()));
        bus.dispatch_out(0xf4, size, 0x12345678);
        ASSERT_EQ(rec.values.size(), 1u);
        EXPECT_EQ(rec.values[0], size == 2 ? 0x5678u : 0x12345678u);
    }
}

TEST(VdebugExit, AnyPortOfTheRangeAndReadsReturnZero)
{
    Recorder rec;
    DebugExit dev{Sink{&Recorder::ended, &rec}};
    io_bus::IoBus bus;
    ASSERT_TRUE(bus.add(dev.handler()));
    EXPECT_EQ(bus.dispatch_in(0xf4, 1), 0u);
    EXPECT_EQ(bus.dispatch_in(0xf4, 4), 0u);
    EXPECT_EQ(bus.dispatch_in(0xf8, 1), 0xffu);  // outside the device
    bus.dispatch_out(0xf8, 1, 3);
    EXPECT_FALSE(dev.ended());
    bus.dispatch_out(0xf7, 1, 3);
    EXPECT_EQ(rec.values, std::vector<uint32_t>{3});
}

TEST(VdebugExit, ConfigurablePortAndNullSink)
{
    DebugExit dev{Sink{nullptr, nullptr}, 0x501, 2};
    io_bus::IoBus bus;
    ASSERT_TRUE(bus.add(dev.handler()));
    bus.dispatch_out(0xf4, 1, 1);
    EXPECT_FALSE(dev.ended());
    bus.dispatch_out(0x501, 2, 0x101);
    EXPECT_TRUE(dev.ended());
    EXPECT_EQ(dev.value(), 0x101u);
}

}  // namespace
