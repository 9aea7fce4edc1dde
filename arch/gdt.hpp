// Per-CPU GDT and TSS. The TSS carries the interrupt stack table: #DF, NMI and #MC run on
// stacks of their own so a corrupt or overflowed kernel stack still yields a register dump.
#pragma once
#include <cstdint>

namespace Selector {
constexpr uint16_t code = 0x08, data = 0x10, tss = 0x18;
}

// IST slots (1-based in the IDT gate, SDM Vol. 3A 6.14.5).
namespace Ist {
constexpr unsigned double_fault = 1, nmi = 2, machine_check = 3, count = 3;
}

struct [[gnu::packed]] Tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t io_map_base;
};
static_assert(sizeof(Tss) == 104);

struct alignas(16) Gdt {
    uint64_t entries[5];  // null, code, data, TSS (two slots in long mode)
};

void load_gdt(Gdt& gdt, Tss& tss);
