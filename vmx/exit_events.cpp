// Events that cause exits: the host's own (external interrupts, NMIs), the guest's fatal ones
// (triple fault), and the hypervisor's timers and windows.
#include "arch/cpu.hpp"
#include "arch/panic.hpp"
#include "drivers/lapic.hpp"
#include "lib/format.hpp"
#include "vmx/exit_handlers.hpp"
#include "vmx/slice_timer.hpp"
#include "vmx/vm.hpp"
#include "vmx/vmcs.hpp"

namespace {
constexpr uint32_t kInfoValid = 1u << 31;
constexpr uint32_t kTypeMask = 7u << 8, kTypeNmi = 2u << 8;
}  // namespace

// With "acknowledge interrupt on exit" the CPU took the host interrupt already (a kick, or the
// slice timer where it is the LAPIC's); the loop acts on it, so it is only completed at the local
// APIC.
ExitAction handle_external_interrupt(Vcpu&, uint64_t)
{
    uint32_t info = vmcs::read(vmcs::Field32::exit_interruption_info);
    if (!(info & kInfoValid)) return ExitAction::resume;
    slice_timer::interrupted(this_cpu(), uint8_t(info));
    lapic::end_of_interrupt();
    return ExitAction::resume;
}

// The exception bitmap is empty, so only host NMIs arrive here: they belong to the host, whose
// only NMI source is a panic on another CPU, and must never reach the guest.
ExitAction handle_exception_or_nmi(Vcpu& vcpu, uint64_t)
{
    uint32_t info = vmcs::read(vmcs::Field32::exit_interruption_info);
    if ((info & kTypeMask) == kTypeNmi) {
        if (panic::in_progress()) panic::stop_this_cpu();  // another CPU panicked
        return ExitAction::resume;
    }
    char report[160];
    format_to(report, sizeof report, "unexpected exception exit (interruption info {:#x}) at RIP {:#x}", info,
              vmcs::read(vmcs::FieldNatural::guest_rip));
    vms::end(*vcpu.vm, VmEnd::fault, info, report);
    return ExitAction::stop;
}

ExitAction handle_triple_fault(Vcpu& vcpu, uint64_t)
{
    char report[200];
    format_to(report, sizeof report, "triple fault at RIP {:#x} (CR0 {:#x}, CR3 {:#x}, RSP {:#x})",
              vmcs::read(vmcs::FieldNatural::guest_rip), vmcs::read(vmcs::FieldNatural::guest_cr0),
              vmcs::read(vmcs::FieldNatural::guest_cr3), vmcs::read(vmcs::FieldNatural::guest_rsp));
    vms::end(*vcpu.vm, VmEnd::triple_fault, 0, report);
    return ExitAction::stop;
}

// The guest can take an interrupt now: the next entry injects it.
ExitAction handle_interrupt_window(Vcpu&, uint64_t) { return ExitAction::resume; }

// The slice ended or a virtual timer is due: the loop decides what runs next.
ExitAction handle_preemption_timer(Vcpu&, uint64_t) { return ExitAction::resume; }
