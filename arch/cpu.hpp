// Thin wrappers for the privileged instructions the hypervisor uses. Kernel-only.
#pragma once
#include <cstdint>

namespace cpu {

struct CpuidResult {
    uint32_t eax, ebx, ecx, edx;
};

inline CpuidResult cpuid(uint32_t leaf, uint32_t subleaf = 0)
{
    CpuidResult r;
    asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
    return r;
}

inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t(hi) << 32) | lo;
}

inline void wrmsr(uint32_t msr, uint64_t value)
{
    asm volatile("wrmsr" ::"c"(msr), "a"(uint32_t(value)), "d"(uint32_t(value >> 32)) : "memory");
}

inline uint64_t rdtsc()
{
    uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t(hi) << 32) | lo;
}

#define CPU_CONTROL_REGISTER(n)                                                 \
    inline uint64_t read_cr##n()                                                \
    {                                                                           \
        uint64_t v;                                                             \
        asm volatile("mov %%cr" #n ", %0" : "=r"(v));                           \
        return v;                                                               \
    }                                                                           \
    inline void write_cr##n(uint64_t v) { asm volatile("mov %0, %%cr" #n ::"r"(v) : "memory"); }
CPU_CONTROL_REGISTER(0)
CPU_CONTROL_REGISTER(2)
CPU_CONTROL_REGISTER(3)
CPU_CONTROL_REGISTER(4)
#undef CPU_CONTROL_REGISTER

inline void outb(uint16_t port, uint8_t v) { asm volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
inline void outw(uint16_t port, uint16_t v) { asm volatile("outw %0, %1" ::"a"(v), "Nd"(port)); }
inline void outl(uint16_t port, uint32_t v) { asm volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
inline uint16_t inw(uint16_t port)
{
    uint16_t v;
    asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
inline uint32_t inl(uint16_t port)
{
    uint32_t v;
    asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

inline void pause() { asm volatile("pause" ::: "memory"); }
[[noreturn]] inline void halt_forever()
{
    for (;;) asm volatile("cli; hlt");
}

// CPUID.1:ECX / EDX and leaf 7 bits the hypervisor looks at (SDM Vol. 2A, CPUID).
namespace feature {
constexpr uint32_t ecx1_vmx = 1u << 5;
constexpr uint32_t ecx1_smx = 1u << 6;
constexpr uint32_t ecx1_x2apic = 1u << 21;
constexpr uint32_t ecx1_tsc_deadline = 1u << 24;
constexpr uint32_t ecx1_xsave = 1u << 26;
constexpr uint32_t ecx1_hypervisor = 1u << 31;
constexpr uint32_t edx1_apic = 1u << 9;
constexpr uint32_t edx1_pat = 1u << 16;
constexpr uint32_t ebx7_smep = 1u << 7;
constexpr uint32_t ebx7_smap = 1u << 20;
constexpr uint32_t edx_ext_nx = 1u << 20;
constexpr uint32_t edx_ext_1g_pages = 1u << 26;
constexpr uint32_t edx_ext_long_mode = 1u << 29;
}  // namespace feature

namespace msr {
constexpr uint32_t apic_base = 0x1b;
constexpr uint32_t feature_control = 0x3a;
constexpr uint32_t pat = 0x277;
constexpr uint32_t efer = 0xc0000080;
constexpr uint32_t fs_base = 0xc0000100;
constexpr uint32_t gs_base = 0xc0000101;
constexpr uint32_t vmx_basic = 0x480;
}  // namespace msr

namespace cr0 {
constexpr uint64_t pe = 1ull << 0, wp = 1ull << 16, pg = 1ull << 31;
}
namespace cr4 {
constexpr uint64_t pae = 1ull << 5, pge = 1ull << 7, vmxe = 1ull << 13, osxsave = 1ull << 18, smep = 1ull << 20,
                   smap = 1ull << 21;
}
namespace efer {
constexpr uint64_t sce = 1ull << 0, lme = 1ull << 8, lma = 1ull << 10, nxe = 1ull << 11;
}

}  // namespace cpu
