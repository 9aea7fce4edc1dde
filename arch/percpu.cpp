#include "arch/percpu.hpp"

#include "arch/cpu.hpp"
#include "arch/idt.hpp"
#include "arch/paging.hpp"

void activate_cpu(PerCpu& cpu)
{
    cpu.self = &cpu;
    for (unsigned i = 0; i < Ist::count; ++i) cpu.tss.ist[i] = cpu.ist_stacks[i];
    load_gdt(cpu.gdt, cpu.tss);
    load_idt();
    cpu::wrmsr(cpu::msr::gs_base, reinterpret_cast<uint64_t>(&cpu));
}

namespace {

template <class F>
bool for_each_guard(const PerCpu& cpu, F&& f)
{
    bool ok = f(cpu.stack_bottom - kGuardSize);
    for (uintptr_t top : cpu.ist_stacks) ok = f(top - kIstStackSize - kGuardSize) && ok;
    return ok;
}

}  // namespace

bool install_stack_guards(const PerCpu& cpu) { return for_each_guard(cpu, paging::unmap_guard_page); }

void restore_stack_guards(const PerCpu& cpu) { for_each_guard(cpu, paging::restore_guard_page); }

bool in_stack_guard(const PerCpu& cpu, uint64_t address)
{
    return !for_each_guard(cpu, [address](uintptr_t guard) { return address - guard >= kGuardSize; });
}
