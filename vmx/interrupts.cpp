#include "vmx/interrupts.hpp"

#include "vmx/capabilities.hpp"
#include "vmx/events.hpp"
#include "vmx/vm.hpp"
#include "vmx/vmcs.hpp"

namespace interrupts {
namespace {

constexpr uint64_t kInterruptFlag = 1u << 9;
constexpr uint32_t kBlockingBySti = 1u << 0, kBlockingByMovSs = 1u << 1, kBlockingByNmi = 1u << 3;

// SDM Vol. 3C 27.6.1: an external interrupt can be injected only with RFLAGS.IF=1 and no
// STI or MOV-SS blocking.
bool interruptible()
{
    return (vmcs::read(vmcs::FieldNatural::guest_rflags) & kInterruptFlag) &&
           !(vmcs::read(vmcs::Field32::guest_interruptibility) & (kBlockingBySti | kBlockingByMovSs));
}

void set_window_exiting(Vcpu& vcpu, bool on)
{
    uint32_t controls = on ? vcpu.processor_controls | vmx::proc::interrupt_window_exiting
                           : vcpu.processor_controls & ~vmx::proc::interrupt_window_exiting;
    if (controls == vcpu.processor_controls) return;
    vcpu.processor_controls = controls;
    vmcs::write(vmcs::Field32::processor_based_controls, controls);
}

// An NMI another vCPU sent goes in as soon as nothing else is being injected and the guest is
// not still handling an earlier NMI (SDM Vol. 3C 27.6.1.2); otherwise it waits for a later entry.
void deliver_nmi(Vcpu& vcpu)
{
    if (!__atomic_load_n(&vcpu.pending_nmi, __ATOMIC_ACQUIRE) || events::has_pending(vcpu)) return;
    if (vmcs::read(vmcs::Field32::guest_interruptibility) & (kBlockingBySti | kBlockingByMovSs | kBlockingByNmi)) return;
    __atomic_store_n(&vcpu.pending_nmi, false, __ATOMIC_RELEASE);
    events::inject_nmi(vcpu);
}

}  // namespace

void prepare_entry(Vcpu& vcpu, uint64_t now)
{
    deliver_nmi(vcpu);
    vcpu.lapic.update(now);
    int vector = vcpu.lapic.highest_deliverable();
    if (vector < 0) return set_window_exiting(vcpu, false);
    // Another event goes first (a fault, or a delivery an exit interrupted): come back for
    // this interrupt as soon as the guest can take it.
    if (events::has_pending(vcpu) || !interruptible()) return set_window_exiting(vcpu, true);
    vcpu.lapic.acknowledge(uint8_t(vector));
    events::inject_external_interrupt(vcpu, uint8_t(vector));
    set_window_exiting(vcpu, false);
}

bool wakes(Vcpu& vcpu, uint64_t now)
{
    vcpu.lapic.update(now);
    return vcpu.lapic.highest_deliverable() >= 0 && (vmcs::read(vmcs::FieldNatural::guest_rflags) & kInterruptFlag);
}

uint64_t next_deadline(const Vcpu& vcpu)
{
    uint64_t lapic = vcpu.lapic.next_deadline();
    if (vcpu.index != 0) return lapic;
    uint64_t platform = __atomic_load_n(&vcpu.vm->devices.timer_deadline, __ATOMIC_ACQUIRE);
    return platform < lapic ? platform : lapic;
}

}  // namespace interrupts
