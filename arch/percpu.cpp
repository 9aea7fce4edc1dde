#include "arch/percpu.hpp"

#include "arch/cpu.hpp"
#include "arch/idt.hpp"

void activate_cpu(PerCpu& cpu)
{
    cpu.self = &cpu;
    for (unsigned i = 0; i < Ist::count; ++i) cpu.tss.ist[i] = cpu.ist_stacks[i];
    load_gdt(cpu.gdt, cpu.tss);
    load_idt();
    cpu::wrmsr(cpu::msr::gs_base, reinterpret_cast<uint64_t>(&cpu));
}
