#include "drivers/virtual/io_bus.hpp"
#include "drivers/virtual/mmio_bus.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace {

struct Access {
    char device;
    uint64_t where;
    uint8_t size;
    uint64_t value;
    bool operator==(const Access&) const = default;
};

struct Device {
    char name;
    std::vector<Access>* log;
    // Reads return garbage above the access size to check the bus masks it.
    static uint32_t in(void* c, uint16_t port, uint8_t size)
    {
        auto* d = static_cast<Device*>(c);
        d->log->push_back({d->name, port, size, 0});
        return 0xabcdef00u | uint32_t(port & 0xff);
    }
    static void out(void* c, uint16_t port, uint8_t size, uint32_t value)
    {
        auto* d = static_cast<Device*>(c);
        d->log->push_back({d->name, port, size, value});
    }
};

using Log = std::vector<Access>;

TEST(VioBus, Registration)
{
    Log log;
    Device a{'a', &log};
    io_bus::IoBus bus;
    EXPECT_TRUE(bus.add({0x10, 2, &a, &Device::in, &Device::out}));
    EXPECT_FALSE(bus.add({0x11, 1, &a, &Device::in, &Device::out}));  // overlap
    EXPECT_FALSE(bus.add({0x0f, 2, &a, &Device::in, &Device::out}));  // overlap
    EXPECT_FALSE(bus.add({0x20, 0, &a, &Device::in, &Device::out}));  // empty
    EXPECT_FALSE(bus.add({0xfff0, 0x11, &a, &Device::in, &Device::out}));  // past 0xffff
    EXPECT_FALSE(bus.add({0x30, 1, &a, nullptr, &Device::out}));
    EXPECT_FALSE(bus.add({0x30, 1, &a, &Device::in, nullptr}));
    EXPECT_TRUE(bus.add({0x12, 1, &a, &Device::in, &Device::out}));     // adjacent
    EXPECT_TRUE(bus.add({0xfff0, 0x10, &a, &Device::in, &Device::out}));  // up to 0xffff
    EXPECT_TRUE(bus.claimed(0x11));
    EXPECT_FALSE(bus.claimed(0x13));
    EXPECT_EQ(bus.size(), 3u);
    while (bus.size() < io_bus::IoBus::kCapacity) ASSERT_TRUE(bus.add({uint16_t(0x100 + bus.size()), 1, &a, &Device::in, &Device::out}));
    EXPECT_FALSE(bus.add({0x1000, 1, &a, &Device::in, &Device::out}));  // full
}

TEST(VioBus, UnclaimedPortsLikeAnEmptyIsaBus)
{
    io_bus::IoBus bus;
    EXPECT_EQ(bus.dispatch_in(0x80, 1), 0xffu);
    EXPECT_EQ(bus.dispatch_in(0x80, 2), 0xffffu);
    EXPECT_EQ(bus.dispatch_in(0x80, 4), 0xffffffffu);
    bus.dispatch_out(0x80, 1, 0);  // vanishes
    EXPECT_EQ(bus.dispatch_in(0x80, 3), 0xffffffffu);  // not an x86 access size
}

TEST(VioBus, WholeAccessesGoToTheDevice)
{
    Log log;
    Device a{'a', &log};
    io_bus::IoBus bus;
    ASSERT_TRUE(bus.add({0x60, 8, &a, &Device::in, &Device::out}));
    EXPECT_EQ(bus.dispatch_in(0x61, 1), 0x61u);
    EXPECT_EQ(bus.dispatch_in(0x62, 2), 0xef62u);
    EXPECT_EQ(bus.dispatch_in(0x64, 4), 0xabcdef64u);
    bus.dispatch_out(0x60, 1, 0x1234);
    bus.dispatch_out(0x66, 2, 0x12345678);
    EXPECT_EQ(log, (Log{{'a', 0x61, 1, 0}, {'a', 0x62, 2, 0}, {'a', 0x64, 4, 0}, {'a', 0x60, 1, 0x34}, {'a', 0x66, 2, 0x5678}}));
}

TEST(VioBus, StraddlingAccessesGoBytewise)
{
    Log log;
    Device a{'a', &log}, b{'b', &log};
    io_bus::IoBus bus;
    ASSERT_TRUE(bus.add({0x10, 2, &a, &Device::in, &Device::out}));
    ASSERT_TRUE(bus.add({0x12, 1, &b, &Device::in, &Device::out}));
    EXPECT_EQ(bus.dispatch_in(0x10, 4), 0xff121110u);  // a, a, b, nobody
    EXPECT_EQ(log, (Log{{'a', 0x10, 1, 0}, {'a', 0x11, 1, 0}, {'b', 0x12, 1, 0}}));
    log.clear();
    bus.dispatch_out(0x11, 2, 0xbbaa);
    EXPECT_EQ(log, (Log{{'a', 0x11, 1, 0xaa}, {'b', 0x12, 1, 0xbb}}));
    log.clear();
    EXPECT_EQ(bus.dispatch_in(0x0f, 2), 0x10ffu);  // partly unclaimed
    EXPECT_EQ(log, (Log{{'a', 0x10, 1, 0}}));
}

TEST(VioBus, NothingPastPortFfff)
{
    Log log;
    Device a{'a', &log}, z{'z', &log};
    io_bus::IoBus bus;
    ASSERT_TRUE(bus.add({0xffff, 1, &a, &Device::in, &Device::out}));
    ASSERT_TRUE(bus.add({0x0000, 1, &z, &Device::in, &Device::out}));
    EXPECT_EQ(bus.dispatch_in(0xffff, 2), 0xffffu);
    bus.dispatch_out(0xfffe, 4, 0x11223344);
    EXPECT_EQ(log, (Log{{'a', 0xffff, 1, 0}, {'a', 0xffff, 1, 0x33}}));
}

struct MmioDevice {
    std::vector<Access> log;
    bool accept = true;
    static bool read(void* c, uint64_t offset, uint8_t size, uint64_t& value)
    {
        auto* d = static_cast<MmioDevice*>(c);
        d->log.push_back({'r', offset, size, 0});
        value = 0x1122334455667788ull;
        return d->accept;
    }
    static bool write(void* c, uint64_t offset, uint8_t size, uint64_t value)
    {
        auto* d = static_cast<MmioDevice*>(c);
        d->log.push_back({'w', offset, size, value});
        return d->accept;
    }
};

mmio_bus::Region region(uint64_t base, uint64_t length, MmioDevice* d)
{
    return {base, length, d, &MmioDevice::read, &MmioDevice::write};
}

TEST(VmmioBus, Registration)
{
    MmioDevice d;
    mmio_bus::MmioBus bus;
    EXPECT_TRUE(bus.add(region(0xfec00000, 0x1000, &d)));
    EXPECT_FALSE(bus.add(region(0xfec00fff, 0x10, &d)));
    EXPECT_FALSE(bus.add(region(0xfebffff0, 0x11, &d)));
    EXPECT_FALSE(bus.add(region(0x1000, 0, &d)));
    EXPECT_FALSE(bus.add(region(~0ull - 0xf, 0x20, &d)));  // wraps
    EXPECT_TRUE(bus.add(region(~0ull - 0xf, 0x10, &d)));   // up to the top
    EXPECT_FALSE(bus.add({0x2000, 0x10, &d, nullptr, &MmioDevice::write}));
    EXPECT_TRUE(bus.add(region(0xfebff000, 0x1000, &d)));  // adjacent
    EXPECT_EQ(bus.find(0xfec00abc)->base, 0xfec00000u);
    EXPECT_EQ(bus.find(0xfec01000), nullptr);
    EXPECT_TRUE(bus.remove(0xfec00000));
    EXPECT_FALSE(bus.remove(0xfec00000));
    EXPECT_EQ(bus.find(0xfec00abc), nullptr);
    EXPECT_NE(bus.find(0xfebff000), nullptr);
    while (bus.size() < mmio_bus::MmioBus::kCapacity) ASSERT_TRUE(bus.add(region(0x100000 * (bus.size() + 1), 0x1000, &d)));
    EXPECT_FALSE(bus.add(region(0x1000, 0x10, &d)));
}

TEST(VmmioBus, Dispatch)
{
    MmioDevice d;
    mmio_bus::MmioBus bus;
    ASSERT_TRUE(bus.add(region(0xfed00000, 0x400, &d)));
    uint64_t v = 1;
    EXPECT_EQ(bus.read(0xfed000f0, 4, v), mmio_bus::Status::ok);
    EXPECT_EQ(v, 0x55667788u);
    EXPECT_EQ(bus.read(0xfed000f8, 8, v), mmio_bus::Status::ok);
    EXPECT_EQ(v, 0x1122334455667788u);
    EXPECT_EQ(bus.write(0xfed00010, 2, 0xabcdef), mmio_bus::Status::ok);
    EXPECT_EQ(d.log, (Log{{'r', 0xf0, 4, 0}, {'r', 0xf8, 8, 0}, {'w', 0x10, 2, 0xcdef}}));
    d.log.clear();

    EXPECT_EQ(bus.read(0xfed00400, 4, v), mmio_bus::Status::unclaimed);
    EXPECT_EQ(v, 0u);
    EXPECT_EQ(bus.write(0x1000, 4, 0), mmio_bus::Status::unclaimed);
    EXPECT_EQ(bus.read(0xfed003fe, 4, v), mmio_bus::Status::crosses_end);
    EXPECT_EQ(bus.write(0xfed003f9, 8, 0), mmio_bus::Status::crosses_end);
    EXPECT_EQ(bus.read(0xfed00000, 3, v), mmio_bus::Status::refused);
    EXPECT_TRUE(d.log.empty());
    EXPECT_EQ(bus.read(0xfed003fc, 4, v), mmio_bus::Status::ok);  // the last dword
    d.accept = false;
    EXPECT_EQ(bus.read(0xfed00000, 4, v), mmio_bus::Status::refused);
    EXPECT_EQ(v, 0u);
    EXPECT_EQ(bus.write(0xfed00000, 4, 0), mmio_bus::Status::refused);
}

TEST(VmmioBus, TinyRegion)
{
    MmioDevice d;
    mmio_bus::MmioBus bus;
    ASSERT_TRUE(bus.add(region(0x5000, 2, &d)));
    uint64_t v = 0;
    EXPECT_EQ(bus.read(0x5000, 4, v), mmio_bus::Status::crosses_end);
    EXPECT_EQ(bus.read(0x5000, 2, v), mmio_bus::Status::ok);
    EXPECT_EQ(bus.read(0x5001, 2, v), mmio_bus::Status::crosses_end);
    EXPECT_EQ(bus.read(0x5001, 1, v), mmio_bus::Status::ok);
}

}  // namespace
