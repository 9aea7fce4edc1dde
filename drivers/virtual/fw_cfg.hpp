// QEMU's firmware configuration device, the legacy I/O interface only (QEMU
// docs/specs/fw_cfg.rst; port behaviour of hw/nvram/fw_cfg.c): enough for code that probes for
// QEMU and reads the RAM size and CPU counts.
//
// Ports 0x510..0x511, one region as in QEMU: a 16-bit write at 0x510 selects an item and resets
// its offset; a byte read at 0x510 or 0x511 returns the next byte of the item (0 past its end
// or for an unknown key) and advances; byte writes are data writes, ignored since QEMU 2.4.
// Other sizes are invalid in QEMU: reads return 0 with no effect, writes are ignored. No DMA
// interface (ID bit 1 clear; port 0x514 is left unclaimed).
//
// Items: signature "QEMU", ID 1, RAM size (64-bit LE), NB_CPUS and MAX_CPUS (16-bit LE), and
// an empty file directory (big-endian count 0). Bit 14 of the key (write channel) is ignored;
// architecture-specific keys (bit 15) are unknown. Unknown keys (UUID included) read as zeros.
#pragma once
#include <cstddef>
#include <cstdint>

#include "drivers/virtual/io_bus.hpp"

namespace fw_cfg {

constexpr uint16_t kSignature = 0x0000, kId = 0x0001, kRamSize = 0x0003, kNbCpus = 0x0005, kMaxCpus = 0x000f,
                   kFileDir = 0x0019;

struct Config {
    uint64_t ram_bytes;
    uint16_t cpus;      // started with the VM
    uint16_t max_cpus;  // QEMU reports the APIC ID limit here; >= cpus
};

class FwCfg {
public:
    static constexpr uint16_t kSelectorPort = 0x510, kDataPort = 0x511;

    explicit FwCfg(const Config& config);

    io_bus::Handler handler();
    void select(uint16_t key);
    uint8_t read_data();
    uint16_t selector() const { return key_; }

private:
    static uint32_t io_in(void* context, uint16_t port, uint8_t size);
    static void io_out(void* context, uint16_t port, uint8_t size, uint32_t value);

    uint8_t id_[4] = {1, 0, 0, 0};  // traditional interface only
    uint8_t ram_[8] = {};
    uint8_t cpus_[2] = {};
    uint8_t max_cpus_[2] = {};
    uint8_t file_dir_[4] = {};  // count 0
    uint16_t key_ = 0;
    const uint8_t* item_ = nullptr;
    size_t length_ = 0, offset_ = 0;
};

}  // namespace fw_cfg
