// libFuzzer target: vmx/instruction_emulator (and, through it, the decoder and the guest page
// walk). The input is a 36-byte header that sets up the guest, then the instruction bytes:
//
//   [0]      flags: bit 0 paging on, bit 1 CPL 3, bit 2 RFLAGS.DF, bits 4-5 SS.B selector
//            (0 "as CS", 1 16-bit, 2 32-bit), bit 6 also run emulate_at_rip on the bytes
//            copied into RAM, bit 7 faulting_gpa in RAM instead of on the device page
//   [1..2]   faulting_gpa offset (device page: low 12 bits; RAM: low 16 bits)
//   [3..34]  the 16 GPRs, 2 bytes each: bit 15 puts the value on the device page (0xfee00000)
//   [35]     RCX multiplier (REP counts)
//   [36..]   instruction bytes, handed to emulate() as an exact-size heap copy
//
// Each input runs in every CpuMode against a fresh 64 KiB GuestRam and a fake device at
// 0xfee00000. Checked: no read outside the bytes or RAM (ASan), device accesses of size
// 1/2/4/8 only, a done outcome has a length within the bytes and 15, and a fault of a
// non-string instruction leaves the registers untouched.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "tests/fuzz/check.hpp"
#include "vmx/instruction_decoder.hpp"
#include "vmx/instruction_emulator.hpp"

namespace {

using namespace mmio_emulation;
namespace cr0 = guest_paging::cr0;
namespace cr4 = guest_paging::cr4;
namespace efer = guest_paging::efer;

constexpr uint64_t kRamSize = 64 * 1024;
constexpr uint64_t kDevice = 0xfee0'0000, kDeviceSize = 4096;
constexpr uint64_t kCodeGpa = 0x8000;
constexpr size_t kHeader = 36;
constexpr uint64_t P = 1, RW = 2, US = 4, PS = 0x80;

alignas(4096) uint64_t ram_words[kRamSize / 8];
uint8_t device_bytes[kDeviceSize];

bool on_device(uint64_t gpa, unsigned size)
{
    return gpa >= kDevice && gpa - kDevice <= kDeviceSize && size <= kDeviceSize - (gpa - kDevice);
}

bool device_read(void*, uint64_t gpa, unsigned size, uint64_t& value)
{
    check(size == 1 || size == 2 || size == 4 || size == 8);
    if (!on_device(gpa, size)) return false;
    uint64_t v = 0;
    std::memcpy(&v, &device_bytes[gpa - kDevice], size);
    value = size == 8 ? v : v | (0xa5a5'a5a5'a5a5'a5a5ull << (8 * size));  // junk above `size`
    return true;
}

bool device_write(void*, uint64_t gpa, unsigned size, uint64_t value)
{
    check(size == 1 || size == 2 || size == 4 || size == 8);
    if (!on_device(gpa, size)) return false;
    std::memcpy(&device_bytes[gpa - kDevice], &value, size);
    return true;
}

void set64(uint64_t gpa, uint64_t v) { ram_words[gpa / 8] = v; }
void set32(uint64_t gpa, uint32_t v) { std::memcpy(reinterpret_cast<uint8_t*>(ram_words) + gpa, &v, 4); }

// Page tables for each paging mode, all mapping [0, 4 MiB) (or 2 MiB) identity and the device.
//   4-level: PML4 0x1000, PDPT 0x2000, PD 0x3000 (2 MiB page at 0), PD 0x4000 (device 2 MiB page)
//   PAE:     PDPT 0x5000 (32-byte aligned), PDs 0x3000 and 0x4000 as above
//   32-bit:  PD 0x6000 with 4 MiB pages (CR4.PSE)
void build_tables(bool user)
{
    uint64_t u = user ? US : 0;
    set64(0x1000, 0x2000 | P | RW | u);
    set64(0x2000, 0x3000 | P | RW | u);
    set64(0x2000 + 3 * 8, 0x4000 | P | RW | u);
    set64(0x3000, 0 | P | RW | PS | u);
    set64(0x4000 + 0x1f7 * 8, 0xfee0'0000 | P | RW | PS | u);
    set64(0x5000, 0x3000 | P);
    set64(0x5000 + 3 * 8, 0x4000 | P);
    set32(0x6000, 0 | P | RW | PS | uint32_t(u));
    set32(0x6000 + 0x3fb * 4, 0xfec0'0000 | P | RW | PS | uint32_t(u));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size < kHeader) return 0;
    const uint8_t flags = data[0];
    const bool paging = flags & 1, user = flags & 2;
    const uint16_t gpa_offset = uint16_t(data[1] | data[2] << 8);
    const uint64_t faulting_gpa = (flags & 0x80) ? gpa_offset % kRamSize : kDevice + (gpa_offset & 0xfff);
    GuestRegisters initial{};
    for (unsigned i = 0; i < 16; ++i) {
        uint16_t v = uint16_t(data[3 + 2 * i] | data[4 + 2 * i] << 8);
        initial.gpr[i] = (v & 0x8000 ? kDevice : 0) + (v & 0x7fff);
    }
    initial.gpr[reg::rcx] *= data[35] + 1u;
    initial.rflags = 0x2 | ((flags & 4) ? 0x400 : 0);

    const size_t count = size - kHeader;
    std::vector<uint8_t> bytes(data + kHeader, data + size);  // exact size: ASan sees over-reads

    static const CpuMode modes[] = {CpuMode::real, CpuMode::protected16, CpuMode::protected32, CpuMode::long64};
    for (CpuMode mode : modes) {
        std::memset(ram_words, 0, sizeof ram_words);
        std::memset(device_bytes, 0x3c, sizeof device_bytes);
        GuestRam ram{reinterpret_cast<uint8_t*>(ram_words), kRamSize};
        GuestContext guest{};
        guest.mode = mode;
        guest.cpl = user && mode != CpuMode::real ? 3 : 0;
        guest.ram = &ram;
        guest.stack_address_size = uint8_t(((flags >> 4) & 3) == 1 ? 2 : ((flags >> 4) & 3) == 2 ? 4 : 0);
        if (mode != CpuMode::real) guest.paging.cr0 = cr0::pe;
        if (paging && mode != CpuMode::real) {
            build_tables(user);
            guest.paging.cr0 |= cr0::pg | cr0::wp;
            if (mode == CpuMode::long64) {
                guest.paging.cr3 = 0x1000;
                guest.paging.cr4 = cr4::pae;
                guest.paging.efer = efer::lme | efer::lma | efer::nxe;
            } else if (flags & 8) {
                guest.paging.cr3 = 0x5000;
                guest.paging.cr4 = cr4::pae;
            } else {
                guest.paging.cr3 = 0x6000;
                guest.paging.cr4 = cr4::pse;
            }
        }
        MmioAccess mmio{device_read, device_write, nullptr};

        GuestRegisters regs = initial;
        Result r = emulate(bytes.data(), count, guest, regs, faulting_gpa, mmio);
        if (r.outcome == Outcome::done) {
            check(r.length >= 1 && r.length <= x86_decode::max_instruction_length && r.length <= count);
        } else {
            x86_decode::Instruction insn{};
            bool string = x86_decode::decode(bytes.data(), count, mode, insn) == x86_decode::DecodeStatus::ok &&
                          insn.form == x86_decode::Form::string;
            if (!string) check(std::memcmp(&regs, &initial, sizeof regs) == 0);
        }

        if (flags & 0x40) {
            size_t n = count < 64 ? count : 64;
            if (n) std::memcpy(reinterpret_cast<uint8_t*>(ram_words) + kCodeGpa, bytes.data(), n);
            GuestRegisters at_rip = initial;
            at_rip.rip = kCodeGpa;
            Result f = emulate_at_rip(guest, at_rip, faulting_gpa, mmio);
            if (f.outcome == Outcome::done) check(f.length >= 1 && f.length <= x86_decode::max_instruction_length);
        }
    }
    return 0;
}
