#include "arch/idt.hpp"

#include "arch/gdt.hpp"

extern "C" const uint64_t exception_stubs[32];

namespace {

struct [[gnu::packed]] Gate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type;
    uint16_t offset_middle;
    uint32_t offset_high;
    uint32_t reserved;
};
static_assert(sizeof(Gate) == 16);

alignas(4096) Gate idt[256];

constexpr uint8_t kInterruptGate = 0x8e;  // present, DPL 0, 64-bit interrupt gate (IF cleared)

unsigned ist_for(unsigned vector)
{
    switch (vector) {
    case 2: return Ist::nmi;
    case 8: return Ist::double_fault;
    case 18: return Ist::machine_check;
    default: return 0;
    }
}

}  // namespace

void init_idt()
{
    for (unsigned v = 0; v < 32; ++v) {
        uint64_t handler = exception_stubs[v];
        idt[v] = Gate{uint16_t(handler), Selector::code, uint8_t(ist_for(v)), kInterruptGate,
                      uint16_t(handler >> 16), uint32_t(handler >> 32), 0};
    }
}

void load_idt()
{
    struct [[gnu::packed]] {
        uint16_t limit;
        uint64_t base;
    } idtr{sizeof idt - 1, reinterpret_cast<uint64_t>(idt)};
    asm volatile("lidt %0" ::"m"(idtr));
}

uint64_t idt_base() { return reinterpret_cast<uint64_t>(idt); }
