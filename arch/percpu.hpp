// Per-CPU data, reached through GS (GS base = this CPU's PerCpu; its first field points to itself
// so one `mov %gs:0` yields a normal pointer).
#pragma once
#include <cstddef>
#include <cstdint>

#include "arch/gdt.hpp"

struct Vcpu;

constexpr size_t kMaxCpus = 256;
constexpr size_t kStackSize = 16 * 1024;
constexpr size_t kIstStackSize = 4096;
// Below each stack lies an unmapped guard page: an overflow faults instead of silently
// overwriting whatever is beneath. Each stack's memory starts with its guard page.
constexpr size_t kGuardSize = 4096;

struct PerCpu {
    PerCpu* self;
    uint32_t index;    // 0 = the boot CPU; APs numbered in MADT order
    uint32_t apic_id;
    uintptr_t stack_bottom, stack_top;  // the normal kernel stack, for backtrace bounds
    uintptr_t ist_stacks[Ist::count];   // tops; bottom = top - kIstStackSize
    Gdt gdt;
    Tss tss;
    bool online;                     // set by the CPU itself once it runs C++ code
    void (*volatile work)(PerCpu&);  // boot-time mailbox: the CPU runs it, then clears it
    uint64_t vmxon_region;           // physical
    bool in_vmx_root;
    const char* vmx_error;           // why this CPU could not enter VMX root
    char vmx_error_text[160];
    uint64_t current_vmcs;           // physical address of the current VMCS, 0 for none
    Vcpu* loaded_vcpu;               // whose registers and VMCS this CPU holds (vcpu_switch)
    uint64_t sleeper_deadline;       // earliest LAPIC timer of the vCPUs that halted here
    uint64_t slice_timer_deadline;   // what this CPU's LAPIC timer is armed for (slice_timer)
};

inline PerCpu& this_cpu()
{
    PerCpu* p;
    asm volatile("mov %%gs:0, %0" : "=r"(p));
    return *p;
}

// Loads this CPU's GDT, TSS and the shared IDT, and points GS at `cpu`.
void activate_cpu(PerCpu& cpu);

// Unmaps the guard page below the CPU's kernel stack and each IST stack (false: out of memory
// for page tables); restore_stack_guards maps them again before the memory is freed.
bool install_stack_guards(const PerCpu& cpu);
void restore_stack_guards(const PerCpu& cpu);
bool in_stack_guard(const PerCpu& cpu, uint64_t address);
