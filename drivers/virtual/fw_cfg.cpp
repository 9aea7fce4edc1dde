#include "drivers/virtual/fw_cfg.hpp"

namespace fw_cfg {
namespace {

constexpr uint8_t kSignatureBytes[4] = {'Q', 'E', 'M', 'U'};
constexpr uint16_t kWriteChannel = 0x4000, kArchLocal = 0x8000;

}  // namespace

FwCfg::FwCfg(const Config& config)
{
    for (int i = 0; i < 8; ++i) ram_[i] = uint8_t(config.ram_bytes >> (8 * i));
    cpus_[0] = uint8_t(config.cpus);
    cpus_[1] = uint8_t(config.cpus >> 8);
    max_cpus_[0] = uint8_t(config.max_cpus);
    max_cpus_[1] = uint8_t(config.max_cpus >> 8);
    select(kSignature);  // QEMU's reset state
}

io_bus::Handler FwCfg::handler() { return io_bus::Handler{kSelectorPort, 2, this, &FwCfg::io_in, &FwCfg::io_out}; }

void FwCfg::select(uint16_t key)
{
    key_ = key;
    offset_ = 0;
    item_ = nullptr;
    length_ = 0;
    if (key & kArchLocal) return;
    switch (key & uint16_t(~kWriteChannel)) {
    case kSignature:
        item_ = kSignatureBytes;
        length_ = sizeof kSignatureBytes;
        break;
    case kId:
        item_ = id_;
        length_ = sizeof id_;
        break;
    case kRamSize:
        item_ = ram_;
        length_ = sizeof ram_;
        break;
    case kNbCpus:
        item_ = cpus_;
        length_ = sizeof cpus_;
        break;
    case kMaxCpus:
        item_ = max_cpus_;
        length_ = sizeof max_cpus_;
        break;
    case kFileDir:
        item_ = file_dir_;
        length_ = sizeof file_dir_;
        break;
    default: break;
    }
}

uint8_t FwCfg::read_data()
{
    if (offset_ >= length_) return 0;
    return item_[offset_++];
}

uint32_t FwCfg::io_in(void* context, uint16_t, uint8_t size)
{
    if (size != 1) return 0;
    return static_cast<FwCfg*>(context)->read_data();
}

void FwCfg::io_out(void* context, uint16_t port, uint8_t size, uint32_t value)
{
    if (size == 2 && port == kSelectorPort) static_cast<FwCfg*>(context)->select(uint16_t(value));
}

}  // namespace fw_cfg
