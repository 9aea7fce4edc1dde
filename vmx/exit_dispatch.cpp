#include <initializer_list>

#include "arch/percpu.hpp"
#include "lib/format.hpp"
#include "vmx/exit_handlers.hpp"
#include "vmx/hypercall.hpp"
#include "vmx/vm.hpp"
#include "vmx/vmcs.hpp"

namespace {

struct ExitTable {
    ExitHandler handlers[exit_reason::count] = {};

    constexpr ExitTable()
    {
        using namespace exit_reason;
        handlers[exception_or_nmi] = handle_exception_or_nmi;
        handlers[external_interrupt] = handle_external_interrupt;
        handlers[triple_fault] = handle_triple_fault;
        handlers[interrupt_window] = handle_interrupt_window;
        handlers[cpuid] = handle_cpuid;
        handlers[hlt] = handle_hlt;
        handlers[invd] = handle_cache_flush;
        handlers[wbinvd] = handle_cache_flush;
        handlers[rdpmc] = handle_rdpmc;
        handlers[vmcall] = handle_vmcall;
        for (uint32_t r : {vmclear, vmlaunch, vmptrld, vmptrst, vmread, vmresume, vmwrite, vmxoff, vmxon, invept,
                           invvpid, vmfunc})
            handlers[r] = handle_vmx_instruction;
        for (uint32_t r : {getsec, monitor, mwait}) handlers[r] = handle_undefined_instruction;
        handlers[cr_access] = handle_cr_access;
        handlers[io_instruction] = handle_io;
        handlers[rdmsr] = handle_rdmsr;
        handlers[wrmsr] = handle_wrmsr;
        handlers[pause] = handle_pause;
        handlers[ept_violation] = handle_ept_violation;
        handlers[ept_misconfiguration] = handle_ept_misconfiguration;
        handlers[preemption_timer] = handle_preemption_timer;
        handlers[xsetbv] = handle_xsetbv;
    }
};

constexpr ExitTable table;

}  // namespace

// The benchmark image (make bench) answers VMCALL 0x4d487ffe (Matryoshka's range, beside nop)
// before any other work: the cheapest exit there can be, the "floor" other exits are compared
// with. Not in the shipped image.
#ifdef MATRYOSHKA_BENCH_FLOOR
constexpr uint64_t kFloorHypercall = hypercall::kMatryoshkaBase + 0x7ffe;
#endif

ExitAction handle_exit(Vcpu& vcpu, uint32_t reason)
{
    uint32_t basic = reason & 0xffff;
#ifdef MATRYOSHKA_BENCH_FLOOR
    if (basic == exit_reason::vmcall && vcpu.regs.gpr[reg::rax] == kFloorHypercall) return ExitAction::skip_instruction;
#endif
    if (basic < exit_reason::count) ++vcpu.exits[basic];
    ExitHandler handler = basic < exit_reason::count ? table.handlers[basic] : nullptr;
    if (handler) return handler(vcpu, vmcs::read(vmcs::FieldNatural::exit_qualification));
    char report[160];
    format_to(report, sizeof report, "unhandled VM exit {} ({}) at RIP {:#x}", basic, exit_reason::name(basic),
              vmcs::read(vmcs::FieldNatural::guest_rip));
    vms::end(*vcpu.vm, VmEnd::fault, basic, report);
    return ExitAction::stop;
}
