#include "drivers/virtual/reset_ports.hpp"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

using namespace reset_ports;

namespace {

struct Recorder {
    std::vector<std::pair<uint16_t, uint8_t>> resets;
    static void reset(void* c, uint16_t port, uint8_t value) { static_cast<Recorder*>(c)->resets.push_back({port, value}); }
};

struct Fixture {
    Recorder rec;
    ResetPorts dev{Sink{&Recorder::reset, &rec}};
    io_bus::IoBus bus;
    Fixture()
    {
        EXPECT_TRUE(bus.add(dev.pci_config_handler()));
        EXPECT_TRUE(bus.add(dev.keyboard_handler()));
    }
};

TEST(VresetPorts, Cf9WithRstCpuRequestsAReset)
{
    Fixture f;
    f.bus.dispatch_out(0xcf9, 1, kSysRst);  // Linux's reboot=pci: first the type...
    EXPECT_TRUE(f.rec.resets.empty());
    EXPECT_EQ(f.bus.dispatch_in(0xcf9, 1), kSysRst);
    f.bus.dispatch_out(0xcf9, 1, kSysRst | kRstCpu);  // ...then the reset
    ASSERT_EQ(f.rec.resets.size(), 1u);
    EXPECT_EQ(f.rec.resets[0], (std::pair<uint16_t, uint8_t>{0xcf9, 0x06}));
    EXPECT_EQ(f.bus.dispatch_in(0xcf9, 1), kSysRst);  // RST_CPU does not read back
}

TEST(VresetPorts, PciConfigAddressIsNeverAReset)
{
    Fixture f;
    // A dword at 0xCF8 is CONFIG_ADDRESS: byte 1 (0x04 here) must not reach RST_CNT.
    f.bus.dispatch_out(0xcf8, 4, 0x80000400u);
    f.bus.dispatch_out(0xcf8, 2, 0x0400);
    f.bus.dispatch_out(0xcfc, 4, 0xffffffffu);
    EXPECT_TRUE(f.rec.resets.empty());
    EXPECT_EQ(f.bus.dispatch_in(0xcf8, 4), 0xffffffffu);  // no host bridge: all ones
    EXPECT_EQ(f.bus.dispatch_in(0xcfc, 4), 0xffffffffu);
    EXPECT_EQ(f.bus.dispatch_in(0xcfe, 2), 0xffffu);
}

TEST(VresetPorts, KeyboardControllerPulseReset)
{
    Fixture f;
    for (uint32_t command : {0x00u, 0x20u, 0xd1u, 0xf1u, 0xffu}) f.bus.dispatch_out(0x64, 1, command);
    EXPECT_TRUE(f.rec.resets.empty());
    EXPECT_EQ(f.bus.dispatch_in(0x64, 1), 0xffu);
    f.bus.dispatch_out(0x64, 1, kKeyboardPulseReset);
    f.bus.dispatch_out(0x64, 1, 0xf0);  // pulses all four lines, reset among them
    ASSERT_EQ(f.rec.resets.size(), 2u);
    EXPECT_EQ(f.rec.resets[0], (std::pair<uint16_t, uint8_t>{0x64, 0xfe}));
    EXPECT_EQ(f.rec.resets[1], (std::pair<uint16_t, uint8_t>{0x64, 0xf0}));
}

}  // namespace
