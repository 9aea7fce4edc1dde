#include "arch/gdt.hpp"

namespace {

struct [[gnu::packed]] Pseudo {
    uint16_t limit;
    uint64_t base;
};

// 64-bit TSS descriptor, available type 9 (SDM Vol. 3A 8.2.3, Figure 8-4).
void tss_descriptor(uint64_t* slot, const Tss& tss)
{
    uint64_t base = reinterpret_cast<uint64_t>(&tss);
    uint64_t limit = sizeof(Tss) - 1;
    slot[0] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) | (((base >> 24) & 0xff) << 56);
    slot[1] = base >> 32;
}

}  // namespace

void load_gdt(Gdt& gdt, Tss& tss)
{
    gdt.entries[0] = 0;
    gdt.entries[1] = 0x00af9a000000ffff;  // 64-bit code, DPL 0
    gdt.entries[2] = 0x00cf92000000ffff;  // data, DPL 0
    tss.io_map_base = sizeof(Tss);        // no I/O permission bitmap
    tss_descriptor(&gdt.entries[3], tss);

    Pseudo gdtr{sizeof gdt.entries - 1, reinterpret_cast<uint64_t>(gdt.entries)};
    asm volatile("lgdt %0" ::"m"(gdtr));
    // Reload CS with a far return, then the data segments and the task register.
    asm volatile(
        "pushq %[code]\n"
        "leaq 1f(%%rip), %%rax\n"
        "pushq %%rax\n"
        "lretq\n"
        "1:\n"
        "mov %[data], %%ds\n"
        "mov %[data], %%es\n"
        "mov %[data], %%ss\n"
        "ltr %[tss]\n" ::[code] "i"(Selector::code),
        [data] "r"(uint32_t(Selector::data)), [tss] "r"(uint16_t(Selector::tss))
        : "rax", "memory");
}
