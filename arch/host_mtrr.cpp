#include "arch/host_mtrr.hpp"

#include "arch/cpu.hpp"
#include "drivers/console.hpp"
#include "lib/format.hpp"

namespace host_mtrr {
namespace {

mtrr::Registers host;

constexpr uint32_t kCpuidMtrr = 1u << 12;  // CPUID.1:EDX.MTRR

// The first MiB in runs of one type, as the fixed ranges (or the variable ones) give it.
void print_first_mib()
{
    char line[240];
    size_t used = 0;
    MemoryType type;
    for (uint64_t at = 0; at < mtrr::kFixedEnd;) {
        uint64_t run = mtrr::uniform_run(host, at, mtrr::kFixedEnd - at, type);
        used += format_to(line + used, sizeof line - used, "{}[{:#x}, {:#x}) {}", at ? ", " : "", at, at + run,
                          mtrr::type_name(type));
        at += run;
    }
    console::info("MTRRs: first MiB: {}", line);
}

}  // namespace

void read()
{
    host = mtrr::Registers{};
    host.present = cpu::cpuid(1).edx & kCpuidMtrr;
    if (!host.present) {
        console::info("MTRRs: none (CPUID.1:EDX.MTRR is 0): guest memory is mapped write-back");
        return;
    }
    if (cpu::cpuid(0x80000000).eax >= 0x80000008) host.physical_address_bits = cpu::cpuid(0x80000008).eax & 0xff;
    host.cap = cpu::rdmsr(mtrr::msr::cap);
    host.def_type = cpu::rdmsr(mtrr::msr::def_type);
    if (host.cap & (1u << 8)) {
        host.fixed[0] = cpu::rdmsr(mtrr::msr::fix64k_00000);
        host.fixed[1] = cpu::rdmsr(mtrr::msr::fix16k_80000);
        host.fixed[2] = cpu::rdmsr(mtrr::msr::fix16k_a0000);
        for (uint32_t i = 0; i < 8; ++i) host.fixed[3 + i] = cpu::rdmsr(mtrr::msr::fix4k_c0000 + i);
    }
    size_t count = host.cap & 0xff;
    host.variable_count = count < mtrr::kMaxVariable ? count : mtrr::kMaxVariable;
    for (size_t i = 0; i < host.variable_count; ++i) {
        host.variable[i].base = cpu::rdmsr(uint32_t(mtrr::msr::physbase0 + 2 * i));
        host.variable[i].mask = cpu::rdmsr(uint32_t(mtrr::msr::physbase0 + 2 * i + 1));
    }

    console::info("MTRRs: {} (default {}), fixed ranges {}, {} variable ranges, {}-bit physical addresses",
                  host.enabled() ? "enabled" : "disabled: all memory is UC", mtrr::type_name(host.default_type()),
                  host.fixed_enabled() ? "on" : "off", count, host.physical_address_bits);
    if (!host.enabled()) return;
    if (host.fixed_enabled()) print_first_mib();
    for (size_t i = 0; i < host.variable_count; ++i) {
        const mtrr::Variable& v = host.variable[i];
        if (v.mask & (1u << 11))
            console::info("MTRRs: variable {}: base {:#x} mask {:#x} {}", i, v.base & ~0xfffull, v.mask & ~0xfffull,
                          mtrr::type_name(mtrr::type_at(host, v.base & ~0xfffull)));
    }
}

const mtrr::Registers& registers() { return host; }

}  // namespace host_mtrr
