// PCI configuration mechanism #1 (PCI Local Bus Specification 3.0, 3.2.2.3.2) with one device,
// the host bridge at 00:00.0, an Intel 440FX PMC (8086:1237 revision 2, class 06.00.00; Intel
// 82441FX datasheet, order 290549, 3.2 "PCI Configuration Registers"). Every other bus, device
// and function reads all ones, as an empty slot does.
//
// Ports 0xCF8-0xCFF: a 32-bit access at 0xCF8 is CONFIG_ADDRESS (bit 31 enable, bus 23:16,
// device 15:11, function 10:8, register 7:2; the rest reads 0); 1-, 2- and 4-byte accesses at
// 0xCFC-0xCFF reach the selected dword's bytes from (port & 3) on, and read all ones (writes
// vanish) while the enable bit is clear. A byte at 0xCF9 is the PIIX reset control register
// instead (PIIX3 datasheet 2.2.2 "RC—Reset Control Register"): writing it with bit 2 (reset CPU)
// set resets the machine, which for a VM is the `reset` callback; bits 1 and 3 read back. Other
// accesses' bytes at 0xCF8-0xCFB read all ones and are ignored; those of an unaligned access
// that runs on past 0xCFB reach CONFIG_DATA there.
//
// The host bridge's header: vendor, device, status, revision, class, header type 0 and BIST
// read-only; command bits 1 (memory), 2 (bus master), 6 (parity) and 8 (SERR) and the latency
// timer are writable; no BARs; the chipset registers at 0x40-0xFF are plain storage (nothing in
// the VM depends on PAM, DRAM rows or SMRAM, so writes have no effect beyond reading back).
#pragma once
#include <cstdint>

#include "drivers/virtual/io_bus.hpp"

namespace pci_host {

constexpr uint16_t kConfigAddress = 0xcf8, kConfigData = 0xcfc, kResetControl = 0xcf9;
constexpr uint16_t kVendorId = 0x8086, kDeviceId = 0x1237;
constexpr uint32_t kEnable = 0x80000000u;

struct ResetSink {
    void (*reset)(void* context);  // may be null
    void* context;
};

class PciHost {
public:
    explicit PciHost(ResetSink reset);

    io_bus::Handler handler();  // ports 0xCF8-0xCFF
    uint32_t read(uint16_t port, uint8_t size);
    void write(uint16_t port, uint8_t size, uint32_t value);

    // The host bridge's configuration space at `offset` (any alignment inside 256 bytes).
    uint32_t read_config(uint8_t offset, uint8_t size) const;
    void write_config(uint8_t offset, uint8_t size, uint32_t value);

private:
    bool selects_host_bridge() const;

    static uint32_t io_in(void* context, uint16_t port, uint8_t size);
    static void io_out(void* context, uint16_t port, uint8_t size, uint32_t value);

    ResetSink reset_;
    uint32_t address_ = 0;
    uint8_t reset_control_ = 0;
    uint8_t config_[256] = {};
};

}  // namespace pci_host
