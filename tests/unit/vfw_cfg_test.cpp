#include "drivers/virtual/fw_cfg.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace fw_cfg;

namespace {

struct Fixture {
    FwCfg dev{Config{512ull << 20, 2, 4}};
    io_bus::IoBus bus;
    Fixture() { EXPECT_TRUE(bus.add(dev.handler())); }
    void select(uint16_t key) { bus.dispatch_out(0x510, 2, key); }
    std::string bytes(size_t n)
    {
        std::string s;
        for (size_t i = 0; i < n; ++i) s.push_back(char(bus.dispatch_in(0x511, 1)));
        return s;
    }
    uint64_t le(size_t n)
    {
        uint64_t v = 0;
        for (size_t i = 0; i < n; ++i) v |= uint64_t(bus.dispatch_in(0x511, 1)) << (8 * i);
        return v;
    }
};

TEST(VfwCfg, Signature)
{
    Fixture f;
    f.select(kSignature);
    EXPECT_EQ(f.bytes(4), "QEMU");
    EXPECT_EQ(f.bytes(2), std::string(2, '\0'));  // past the end: zeros
}

TEST(VfwCfg, SignatureIsSelectedAfterReset)
{
    Fixture f;
    EXPECT_EQ(f.bytes(4), "QEMU");
}

TEST(VfwCfg, IdRamAndCpus)
{
    Fixture f;
    f.select(kId);
    EXPECT_EQ(f.le(4), 1u);  // traditional interface, no DMA
    f.select(kRamSize);
    EXPECT_EQ(f.le(8), 512ull << 20);
    f.select(kNbCpus);
    EXPECT_EQ(f.le(2), 2u);
    f.select(kMaxCpus);
    EXPECT_EQ(f.le(2), 4u);
    EXPECT_EQ(f.le(2), 0u);
}

TEST(VfwCfg, EmptyFileDirectory)
{
    Fixture f;
    f.select(kFileDir);
    EXPECT_EQ(f.bytes(4), std::string(4, '\0'));
}

TEST(VfwCfg, SelectingRestartsTheItem)
{
    Fixture f;
    f.select(kSignature);
    EXPECT_EQ(f.bytes(2), "QE");
    f.select(kSignature);
    EXPECT_EQ(f.bytes(4), "QEMU");
    EXPECT_EQ(f.dev.selector(), kSignature);
}

TEST(VfwCfg, UnknownAndArchKeysReadZero)
{
    Fixture f;
    for (uint16_t key : {uint16_t(0x0002), uint16_t(0x0020), uint16_t(0x3fff), uint16_t(0x8000), uint16_t(0x8003)}) {
        f.select(key);
        EXPECT_EQ(f.bytes(8), std::string(8, '\0')) << key;
    }
    f.select(0x4000 | kSignature);  // write-channel bit ignored
    EXPECT_EQ(f.bytes(4), "QEMU");
}

TEST(VfwCfg, PortAccessRules)
{
    Fixture f;
    f.select(kSignature);
    EXPECT_EQ(f.bus.dispatch_in(0x510, 1), uint32_t('Q'));  // byte reads at either port read data
    EXPECT_EQ(f.bus.dispatch_in(0x510, 2), 0u);             // invalid width: 0, no advance
    EXPECT_EQ(f.bus.dispatch_in(0x511, 1), uint32_t('E'));
    f.bus.dispatch_out(0x511, 1, 0x00);   // data write: ignored
    f.bus.dispatch_out(0x510, 1, 0x01);   // a byte is not a selector write
    f.bus.dispatch_out(0x510, 4, kRamSize);  // invalid width
    EXPECT_EQ(f.bus.dispatch_in(0x511, 1), uint32_t('M'));
    EXPECT_EQ(f.bus.dispatch_in(0x514, 1), 0xffu);  // no DMA port
}

TEST(VfwCfg, LargeValues)
{
    FwCfg dev{Config{0x123456789abull, 0x1234, 0xfffe}};
    dev.select(kRamSize);
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t(dev.read_data()) << (8 * i);
    EXPECT_EQ(v, 0x123456789abull);
    dev.select(kNbCpus);
    EXPECT_EQ(dev.read_data(), 0x34);
    EXPECT_EQ(dev.read_data(), 0x12);
    dev.select(kMaxCpus);
    EXPECT_EQ(dev.read_data(), 0xfe);
    EXPECT_EQ(dev.read_data(), 0xff);
}

}  // namespace
