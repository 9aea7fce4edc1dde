#include "arch/cpu.hpp"
#include "arch/idt.hpp"
#include "arch/percpu.hpp"
#include "drivers/console.hpp"

void run_global_constructors();

namespace {
PerCpu boot_cpu;
alignas(16) uint8_t boot_ist_stacks[Ist::count][kIstStackSize];
}

extern "C" [[noreturn]] void kernel_main(uint32_t mbi_physical)
{
    for (unsigned i = 0; i < Ist::count; ++i) boot_cpu.ist_stacks[i] = uintptr_t(boot_ist_stacks[i + 1]);
    init_idt();
    activate_cpu(boot_cpu);
    run_global_constructors();
    console::info("Matryoshka hypervisor, MBI at {:#x}", mbi_physical);
    console::info("exit status 0");
    cpu::outb(0xf4, 0);
    for (char c : Str("Shutdown")) cpu::outb(0x8900, uint8_t(c));
    cpu::halt_forever();
}
