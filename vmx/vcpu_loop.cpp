#include "vmx/vcpu_loop.hpp"

#include "vmx/vcpu_switch.hpp"

#include "arch/cpu.hpp"
#include "arch/tsc.hpp"
#include "drivers/debug_keys.hpp"
#include "lib/format.hpp"
#include "vmx/events.hpp"
#include "vmx/exit_handlers.hpp"
#include "vmx/interrupts.hpp"
#include "vmx/ipi.hpp"
#include "vmx/vm.hpp"
#include "vmx/vmcs.hpp"
#include "vmx/vmcs_setup.hpp"
#include "vmx/vmx_root.hpp"

extern "C" uint32_t vmx_enter(GuestRegisters* registers, uint32_t resume);

namespace vcpu_loop {
namespace {

constexpr uint32_t kSlicesPerSecond = 100;

// VM-instruction error numbers (SDM Vol. 3C 31.4 "VM Instruction Error Numbers").
const char* instruction_error_name(uint32_t error)
{
    switch (error) {
    case 7: return "invalid control fields";
    case 8: return "invalid host-state fields";
    case 26: return "events blocked by MOV SS";
    case 4: return "VMLAUNCH with a non-clear VMCS";
    case 5: return "VMRESUME with a non-launched VMCS";
    case 12: return "unsupported VMCS component";
    default: return "see SDM Vol. 3C 31.4";
    }
}

// vCPUs stay on their home CPU, so host state is written once, when the VMCS is set up there.
bool make_current(PerCpu& cpu, Vcpu& vcpu)
{
    if (vcpu.vmcs_ready && cpu.current_vmcs == vcpu.vmcs) return true;
    vcpu_switch::switch_to(cpu, vcpu);
    cpu.current_vmcs = vcpu.vmcs;
    if (vcpu.vmcs_ready) return vmcs::load(vcpu.vmcs);
    char error[160];
    if (const char* why = vmcs_setup::init(vcpu, cpu, vcpu.start, error, sizeof error)) {
        vms::end(*vcpu.vm, VmEnd::fault, 0, why);
        return false;
    }
    vcpu.vmcs_ready = true;
    vcpu.launched = false;
    return true;
}

// INIT and SIPI as in the SDM's MP initialization (Vol. 3A "MP Initialization Protocol
// Algorithm"): INIT resets the LAPIC and parks the vCPU in wait-for-SIPI; a SIPI there starts it
// in real mode at vector:0000 with a fresh VMCS. A SIPI in any other state is ignored.
void take_init_and_sipi(Vcpu& vcpu)
{
    // Plain loads first: the locked exchanges only when another vCPU posted something.
    if (!__atomic_load_n(&vcpu.pending_init, __ATOMIC_RELAXED) && __atomic_load_n(&vcpu.pending_sipi, __ATOMIC_RELAXED) < 0)
        return;
    if (__atomic_exchange_n(&vcpu.pending_init, false, __ATOMIC_ACQUIRE)) {
        vcpu.lapic.init_reset();
        vcpu.state = VcpuState::wait_for_sipi;
        vcpu.event = PendingEvent{};
    }
    int vector = __atomic_exchange_n(&vcpu.pending_sipi, -1, __ATOMIC_ACQUIRE);
    if (vector < 0 || vcpu.state != VcpuState::wait_for_sipi) return;
    vcpu.start = vmx::sipi_start_state(vmx::platform().msrs, uint8_t(vector));
    vcpu.regs = GuestRegisters{};
    vcpu.vmcs_ready = false;
    vcpu.state = VcpuState::runnable;
}

void arm_preemption_timer(const Vcpu& vcpu, uint64_t now)
{
    const vmx::Features& f = vmx::platform().features;
    if (!f.preemption_timer) return;
    uint64_t slice = tsc::frequency_hz() / kSlicesPerSecond;
    uint64_t deadline = interrupts::next_deadline(vcpu);
    if (deadline > now && deadline - now < slice) slice = deadline - now;
    else if (deadline <= now) slice = 0;
    uint64_t ticks = slice >> f.preemption_timer_shift;
    vmcs::write(vmcs::Field32::preemption_timer_value, ticks > 0xffffffff ? 0xffffffff : uint32_t(ticks));
}

void report_entry_failure(Vcpu& vcpu, uint32_t how, uint32_t reason)
{
    char report[320];
    if (how) {
        uint32_t error = how == 2 ? vmcs::read(vmcs::Field32::instruction_error) : 0;
        format_to(report, sizeof report, "VM entry failed: {} (VM-instruction error {}: {})",
                  how == 1 ? "VMfailInvalid" : "VMfailValid", error, instruction_error_name(error));
    } else {
        char rule[240];
        const char* broken = vmx::check_guest_state(vmcs_setup::read_guest_state(), vmcs_setup::read_entry_context(),
                                                    vmx::platform().msrs, rule, sizeof rule);
        format_to(report, sizeof report, "VM entry failed: {} (exit reason {:#x}, qualification {}): {}",
                  exit_reason::name(reason), reason, vmcs::read(vmcs::FieldNatural::exit_qualification),
                  broken ? broken : "no guest-state rule broken that the checker knows");
    }
    vms::end(*vcpu.vm, VmEnd::fault, reason, report);
}

void advance_rip(Vcpu&)
{
    uint64_t rip = vmcs::read(vmcs::FieldNatural::guest_rip);
    vmcs::write(vmcs::FieldNatural::guest_rip, rip + vmcs::read(vmcs::Field32::exit_instruction_length));
    // The instruction retired: STI and MOV-SS blocking end with it (SDM Vol. 3C 25.4.2).
    uint32_t interruptibility = vmcs::read(vmcs::Field32::guest_interruptibility);
    if (interruptibility & 3) vmcs::write(vmcs::Field32::guest_interruptibility, interruptibility & ~3u);
}

void run_once(PerCpu& cpu, Vcpu& vcpu)
{
    if (!make_current(cpu, vcpu)) return;
    uint64_t now = cpu::rdtsc();
    interrupts::prepare_entry(vcpu, now);
    events::write_pending(vcpu);
    arm_preemption_timer(vcpu, now);

    uint32_t how = vmx_enter(&vcpu.regs, vcpu.launched);
    if (how) return report_entry_failure(vcpu, how, 0);
    vcpu.launched = true;
    uint32_t reason = vmcs::read(vmcs::Field32::exit_reason);
    if (reason & exit_reason::entry_failure) return report_entry_failure(vcpu, 0, reason);

    events::requeue_interrupted_delivery(vcpu);
    switch (handle_exit(vcpu, reason)) {
    case ExitAction::resume: break;
    case ExitAction::skip_instruction: advance_rip(vcpu); break;
    case ExitAction::halt:
        advance_rip(vcpu);
        vcpu.state = VcpuState::halted;
        break;
    case ExitAction::stop: break;
    }
}

// HLT with RFLAGS.IF=0 in a VM of one vCPU: only NMI, SMI or INIT could wake it, and nothing
// sends those, so it can never run again. End it instead of letting the machine wait forever.
bool halted_forever(Vcpu& vcpu)
{
    constexpr uint64_t kInterruptFlag = 1u << 9;
    if (vcpu.vm->vcpu_count != 1 || (vmcs::read(vmcs::FieldNatural::guest_rflags) & kInterruptFlag)) return false;
    char report[160];
    format_to(report, sizeof report, "halted with interrupts disabled at RIP {:#x}: it can never run again",
              vmcs::read(vmcs::FieldNatural::guest_rip));
    vms::end(*vcpu.vm, VmEnd::fault, 0, report);
    return true;
}

}  // namespace

void run(PerCpu& cpu)
{
    for (;;) {
        bool alive = false;
        uint64_t now = cpu::rdtsc();
        for (uint32_t i = 0; i < cpu.vcpu_count; ++i) {
            Vcpu& vcpu = *cpu.vcpus[i];
            if (vms::ended(*vcpu.vm)) vcpu.state = VcpuState::ended;
            if (vcpu.state == VcpuState::ended) continue;
            alive = true;
            ipi::drain(vcpu);
            take_init_and_sipi(vcpu);
            if (vcpu.state == VcpuState::halted) {
                if (!make_current(cpu, vcpu)) continue;
                if (interrupts::wakes(vcpu, now)) vcpu.state = VcpuState::runnable;
                else if (halted_forever(vcpu)) continue;
            }
            if (vcpu.state == VcpuState::runnable) run_once(cpu, vcpu);
        }
        if (cpu.index == 0) debug_keys::poll();
        if (!alive) return;
        cpu::pause();
    }
}

}  // namespace vcpu_loop
