#include "drivers/virtual/pci_host.hpp"

#include <gtest/gtest.h>

using namespace pci_host;

namespace {

struct Fixture {
    int resets = 0;
    PciHost pci{ResetSink{&Fixture::reset, this}};
    static void reset(void* c) { ++static_cast<Fixture*>(c)->resets; }
    uint32_t in(uint16_t port, uint8_t size) { return pci.handler().in(&pci, port, size); }
    void out(uint16_t port, uint8_t size, uint32_t v) { pci.handler().out(&pci, port, size, v); }
    uint32_t config(unsigned bus, unsigned dev, unsigned fn, unsigned reg, uint8_t size = 4)
    {
        out(0xcf8, 4, 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (reg & 0xfc));
        return in(uint16_t(0xcfc + (reg & 3)), size);
    }
};

TEST(VpciHost, Mechanism1DetectionAsLinuxDoesIt)
{
    Fixture f;
    f.out(0xcfb, 1, 0x01);
    uint32_t saved = f.in(0xcf8, 4);
    f.out(0xcf8, 4, 0x80000000);
    EXPECT_EQ(f.in(0xcf8, 4), 0x80000000u);
    f.out(0xcf8, 4, saved);
    f.out(0xcf8, 4, 0xffffffff);
    EXPECT_EQ(f.in(0xcf8, 4), 0x80fffffcu);  // reserved and low bits read 0
}

TEST(VpciHost, UnalignedAccessRunningIntoConfigDataReachesItsBytes)
{
    Fixture f;
    f.out(0xcf8, 4, 0x80000000u);
    EXPECT_EQ(f.in(0xcfa, 4), 0x8086ffffu);  // bytes 0xCFA-0xCFB: no register
    EXPECT_EQ(f.in(0xcfb, 2), 0x86ffu);
    EXPECT_EQ(f.in(0xcf9, 4), 0x86ffffffu);  // a dword at 0xCF9 is not the reset register
    f.out(0xcfa, 4, 0x0000ffffu);              // command (0x04) untouched: the bytes land on 0x00-0x01
    EXPECT_EQ(f.config(0, 0, 0, 0x00), 0x12378086u);
    f.out(0xcf8, 4, 0x80000004u);
    f.out(0xcfb, 2, 0x0000u);                  // byte 0xCFC: command's low byte
    EXPECT_EQ(f.config(0, 0, 0, 0x04, 2), 0x0000u);
    f.out(0xcf9, 4, 0x04ffffffu);              // no reset; byte 0xCFC = 0x04
    EXPECT_EQ(f.resets, 0);
    EXPECT_EQ(f.config(0, 0, 0, 0x04, 2), 0x0004u);
    f.out(0xcf8, 4, 0x00000000u);              // enable clear: nothing reached
    EXPECT_EQ(f.in(0xcfa, 4), 0xffffffffu);
}

TEST(VpciHost, HostBridgeIdentity)
{
    Fixture f;
    EXPECT_EQ(f.config(0, 0, 0, 0x00), 0x12378086u);
    EXPECT_EQ(f.config(0, 0, 0, 0x08), 0x06000002u);
    EXPECT_EQ(f.config(0, 0, 0, 0x0e, 1), 0x00u);  // header type 0, single function
    EXPECT_EQ(f.config(0, 0, 0, 0x02, 2), 0x1237u);
    EXPECT_EQ(f.config(0, 0, 0, 0x0b, 1), 0x06u);
    EXPECT_EQ(f.config(0, 0, 0, 0x10), 0u);  // no BARs
}

TEST(VpciHost, AbsentDevicesAndDisabledAccessReadAllOnes)
{
    Fixture f;
    EXPECT_EQ(f.config(0, 1, 0, 0), 0xffffffffu);
    EXPECT_EQ(f.config(0, 0, 1, 0), 0xffffffffu);
    EXPECT_EQ(f.config(1, 0, 0, 0), 0xffffffffu);
    EXPECT_EQ(f.config(0, 31, 7, 0, 2), 0xffffu);
    f.out(0xcf8, 4, 0x00000000);  // enable bit clear
    EXPECT_EQ(f.in(0xcfc, 4), 0xffffffffu);
    EXPECT_EQ(f.in(0xcf8, 2), 0xffffu);  // only a dword is CONFIG_ADDRESS
}

TEST(VpciHost, ReadOnlyFieldsIgnoreWrites)
{
    Fixture f;
    f.config(0, 0, 0, 0);
    f.out(0xcfc, 4, 0);
    EXPECT_EQ(f.config(0, 0, 0, 0), 0x12378086u);
    f.config(0, 0, 0, 4);
    f.out(0xcfc, 4, 0xffffffff);  // command and (write-1-to-clear) status
    EXPECT_EQ(f.config(0, 0, 0, 4), 0x02800146u);
    f.config(0, 0, 0, 0x0c);
    f.out(0xcfd, 1, 0xff);  // latency timer
    EXPECT_EQ(f.config(0, 0, 0, 0x0c), 0x0000f800u);
    f.config(0, 0, 0, 0x58);
    f.out(0xcfe, 2, 0xbeef);  // chipset registers are storage
    EXPECT_EQ(f.config(0, 0, 0, 0x58), 0xbeef0000u);
    f.config(0, 1, 0, 0x58);
    f.out(0xcfc, 4, 0x12345678);  // absent device: vanishes
    EXPECT_EQ(f.config(0, 0, 0, 0x58), 0xbeef0000u);
}

TEST(VpciHost, ResetControlRegisterAt0xCF9)
{
    Fixture f;
    f.out(0xcf8, 4, 0x80000000);
    uint8_t rc = uint8_t(f.in(0xcf9, 1)) & ~6;
    f.out(0xcf9, 1, rc | 2);
    EXPECT_EQ(f.resets, 0);
    EXPECT_EQ(f.in(0xcf9, 1), 0x02u);
    EXPECT_EQ(f.in(0xcf8, 4), 0x80000000u);  // CONFIG_ADDRESS untouched
    f.out(0xcf9, 1, rc | 6);
    EXPECT_EQ(f.resets, 1);
}

}  // namespace
