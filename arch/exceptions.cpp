// Every exception that reaches the hypervisor is a bug in the hypervisor (guests' exceptions
// are VM exits, not IDT deliveries): dump everything useful and stop the machine (arch/panic.hpp).
#include "arch/exceptions.hpp"

#include "arch/cpu.hpp"
#include "arch/paging.hpp"
#include "arch/panic.hpp"
#include "arch/percpu.hpp"
#include "drivers/console.hpp"

namespace {

const char* const names[32] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow", "#BR bound range",
    "#UD invalid opcode", "#NM device not available", "#DF double fault", "coprocessor overrun",
    "#TS invalid TSS", "#NP segment not present", "#SS stack fault", "#GP general protection",
    "#PF page fault", "reserved 15", "#MF x87 error", "#AC alignment check", "#MC machine check",
    "#XM SIMD error", "#VE virtualization", "#CP control protection", "reserved 22", "reserved 23",
    "reserved 24", "reserved 25", "reserved 26", "reserved 27", "#HV hypervisor injection",
    "#VC VMM communication", "#SX security", "reserved 31"};

// Follows saved RBPs while they stay inside a stack this CPU owns, so a corrupt chain ends the
// walk instead of faulting again.
bool on_own_stack(const PerCpu& cpu, uint64_t address)
{
    if (address >= cpu.stack_bottom && address + 16 <= cpu.stack_top) return true;
    for (uintptr_t top : cpu.ist_stacks)
        if (address >= top - kIstStackSize && address + 16 <= top) return true;
    return false;
}

void print_backtrace(const PerCpu& cpu, const ExceptionFrame& frame)
{
    FormatSink out = console::emergency_sink();
    format(out, "  backtrace: {:016x}", frame.rip);
    uint64_t rbp = frame.rbp;
    for (unsigned depth = 0; depth < 16 && rbp % 8 == 0 && on_own_stack(cpu, rbp); ++depth) {
        auto* slot = reinterpret_cast<const uint64_t*>(rbp);
        if (!slot[1]) break;
        format(out, " {:016x}", slot[1]);
        if (slot[0] <= rbp) break;  // frames must move up the stack
        rbp = slot[0];
    }
    format(out, "\n");
}

// A #PF that SMAP raised (SDM Vol. 3A 4.6.1): a supervisor-mode data access (error code: present,
// not user, not a fetch, no reserved bit) to a user-accessible page with CR4.SMAP = 1 and
// RFLAGS.AC = 0, i.e. without STAC.
bool smap_violation(const ExceptionFrame& f, uint64_t cr2)
{
    constexpr uint64_t kPresent = 1, kUser = 1 << 2, kReserved = 1 << 3, kFetch = 1 << 4, kAlignmentCheck = 1 << 18;
    return (f.error_code & (kPresent | kUser | kReserved | kFetch)) == kPresent && (cpu::read_cr4() & cpu::cr4::smap) &&
           !(f.rflags & kAlignmentCheck) && paging::user_accessible(cr2);
}

}  // namespace

extern "C" [[noreturn]] void exception_handler(ExceptionFrame* frame)
{
    constexpr uint64_t kNmi = 2, kDoubleFault = 8, kPageFault = 14;
    PerCpu& cpu = this_cpu();
    const ExceptionFrame& f = *frame;
    if (f.vector == kNmi && panic::in_progress()) panic::stop_this_cpu();  // another CPU panicked
    bool first = panic::begin();
    FormatSink out = console::emergency_sink();
    // An overflow faults on the guard page (#PF), whose delivery on the same stack faults again:
    // #DF, on its IST stack, with CR2 still naming the guard page.
    uint64_t cr2 = cpu::read_cr2();
    if ((f.vector == kDoubleFault || f.vector == kPageFault) && in_stack_guard(cpu, cr2))
        format(out, "matryoshka: panic: stack overflow on CPU {}: CR2 {:#x} is in the guard page below a stack\n",
               cpu.index, cr2);
    if (f.vector == kPageFault && smap_violation(f, cr2))
        format(out, "matryoshka: panic: SMAP violation on CPU {}: the hypervisor accessed user-accessible page {:#x} "
                    "without STAC\n", cpu.index, cr2 & ~0xfffull);
    format(out, "matryoshka: panic: CPU {} (APIC ID {}): exception {} ({}), error code {:#x}\n", cpu.index,
           cpu.apic_id, names[f.vector & 31], f.vector, f.error_code);
    format(out, "  RIP {:016x}  RSP {:016x}  RFLAGS {:016x}  CS {:#x}  SS {:#x}\n", f.rip, f.rsp, f.rflags, f.cs,
           f.ss);
    format(out, "  RAX {:016x}  RBX {:016x}  RCX {:016x}  RDX {:016x}\n", f.rax, f.rbx, f.rcx, f.rdx);
    format(out, "  RSI {:016x}  RDI {:016x}  RBP {:016x}  R8  {:016x}\n", f.rsi, f.rdi, f.rbp, f.r8);
    format(out, "  R9  {:016x}  R10 {:016x}  R11 {:016x}  R12 {:016x}\n", f.r9, f.r10, f.r11, f.r12);
    format(out, "  R13 {:016x}  R14 {:016x}  R15 {:016x}\n", f.r13, f.r14, f.r15);
    format(out, "  CR0 {:016x}  CR2 {:016x}  CR3 {:016x}  CR4 {:016x}\n", cpu::read_cr0(), cr2, cpu::read_cr3(),
           cpu::read_cr4());
    print_backtrace(cpu, f);
    if (!first) panic::stop_this_cpu();  // the first CPU to panic stops the machine
    panic::stop_machine();
}
