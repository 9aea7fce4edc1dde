#include "vmx/vcpu_loop.hpp"

#include "vmx/vcpu_switch.hpp"

#include "arch/cpu.hpp"
#include "arch/smp.hpp"
#include "arch/tsc.hpp"
#include "drivers/console.hpp"
#include "drivers/debug_keys.hpp"
#include "lib/format.hpp"
#include "vmx/events.hpp"
#include "vmx/exit_handlers.hpp"
#include "vmx/guest_context.hpp"
#include "vmx/interrupts.hpp"
#include "vmx/ipi.hpp"
#include "vmx/scheduling.hpp"
#include "vmx/slice_timer.hpp"
#include "vmx/vm.hpp"
#include "vmx/vm_reset.hpp"
#include "vmx/vmcs.hpp"
#include "vmx/vmcs_setup.hpp"
#include "vmx/vmx_root.hpp"

extern "C" uint32_t vmx_enter(GuestRegisters* registers, uint32_t resume);

namespace vcpu_loop {
namespace {

constexpr uint64_t kInterruptFlag = 1u << 9;
constexpr uint64_t kNever = ~0ull;
// The pause-loop window adapts per vCPU between KVM's default and 64 times it: a pause-loop exit
// after which the vCPU keeps its pCPU (futile: the policy had nobody to yield to) doubles it, so
// a vCPU spinning with nobody preempted stops exiting in vain; an exit that made it leave (a
// yield, directed or not) halves it again.
constexpr uint32_t kPleWindowMin = 4096, kPleWindowMax = 64 * kPleWindowMin;
// The shortest run a decision buys: a policy may hand out slices of a few ticks (relaxed-co ends
// them at the instant a co-stop may be due), but a CPU that spends a slice in the loop itself,
// or enters with a preemption timer of 0 (an exit before the first guest instruction, SDM Vol.
// 3C 26.7.4), would run no guest at all.
constexpr uint64_t kMinimumRunUs = 20;

// While console output is queued, a CPU leaves its guest at least this often to feed the UART
// (console::poll): the 16550A's 16-byte FIFO empties in ~1.4 ms at 115200 baud, and guests that
// rarely exit would otherwise let it out 16 bytes per slice (a trace dump over minutes).
constexpr uint64_t kConsolePollUs = 1000;

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

// Loads the vCPU on this CPU (vcpu_switch) and sets its VMCS up once it has a start state (at
// boot, or from a SIPI); a vCPU waiting for SIPI needs its registers here but no VMCS yet.
bool make_current(PerCpu& cpu, Vcpu& vcpu)
{
    if (!vcpu_switch::load(cpu, vcpu)) {
        vms::end(*vcpu.vm, VmEnd::fault, 0, "VMPTRLD of its VMCS failed");
        return false;
    }
    if (vcpu.vmcs_ready || vcpu.state == VcpuState::wait_for_sipi) return true;
    char error[160];
    if (const char* why = vmcs_setup::init(vcpu, cpu, vcpu.start, error, sizeof error)) {
        vms::end(*vcpu.vm, VmEnd::fault, 0, why);
        return false;
    }
    cpu.current_vmcs = vcpu.vmcs;
    vcpu.last_cpu = &cpu;
    // A fresh VMCS (boot, SIPI, reset): what this CPU cached under the VPID is the old guest's.
    vcpu_switch::flush_guest_tlb(vcpu);
    vcpu.vmcs_ready = true;
    vcpu.launched = false;
    if (vmx::platform().controls.proc2.value & vmx::proc2::pause_loop_exiting)
        vmcs::write(vmcs::Field32::ple_window, vcpu.ple_window);
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
        __atomic_store_n(&vcpu.pv.unhalted, false, __ATOMIC_RELAXED);  // as KVM's vCPU reset
    }
    int vector = __atomic_exchange_n(&vcpu.pending_sipi, -1, __ATOMIC_ACQUIRE);
    if (vector < 0 || vcpu.state != VcpuState::wait_for_sipi) return;
    vcpu.start = vmx::sipi_start_state(vmx::platform().msrs, uint8_t(vector));
    vcpu.regs = GuestRegisters{};
    vcpu.vmcs_ready = false;
    vcpu.state = VcpuState::runnable;
}

// The slice timer ends the entry at the earliest of: the slice's end, the vCPU's own LAPIC timer,
// and the LAPIC timer of a vCPU that halted on this CPU (it must wake on time). A LAPIC timer that
// is due again at once (a periodic count of 1, a TSC deadline in the past) is held off for
// kMinimumRunUs: with a timer value of 0 the entry would exit before the guest's first
// instruction every time, and the guest, whose handler hardware would run, would never run.
void arm_slice_timer(PerCpu& cpu, const Vcpu& vcpu, uint64_t now, uint64_t deadline)
{
    uint64_t lapic = interrupts::next_deadline(vcpu);
    uint64_t earliest_lapic = now + kMinimumRunUs * scheduling::ticks_per_us();
    if (lapic < earliest_lapic) lapic = earliest_lapic;
    if (lapic < deadline) deadline = lapic;
    if (cpu.sleeper_deadline < deadline) deadline = cpu.sleeper_deadline;
    if (console::output_queued()) {
        uint64_t console_poll = now + kConsolePollUs * scheduling::ticks_per_us();
        if (console_poll < deadline) deadline = console_poll;
    }
    slice_timer::arm(cpu, now, deadline);
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

ExitAction run_once(PerCpu& cpu, Vcpu& vcpu, uint64_t deadline)
{
    uint64_t now = cpu::rdtsc();
    interrupts::prepare_entry(vcpu, now);
    events::write_pending(vcpu);
    arm_slice_timer(cpu, vcpu, now, deadline);

    uint32_t how = vmx_enter(&vcpu.regs, vcpu.launched);
    if (how) {
        report_entry_failure(vcpu, how, 0);
        return ExitAction::stop;
    }
    vcpu.launched = true;
    uint32_t reason = vmcs::read(vmcs::Field32::exit_reason);
    if (reason & exit_reason::entry_failure) {
        report_entry_failure(vcpu, 0, reason);
        return ExitAction::stop;
    }
    events::requeue_interrupted_delivery(vcpu);
    ExitAction action = handle_exit(vcpu, reason);
    switch (action) {
    case ExitAction::resume: break;
    case ExitAction::skip_instruction:
    case ExitAction::pause_loop:
    case ExitAction::reschedule: advance_rip(vcpu); break;
    case ExitAction::halt:
        advance_rip(vcpu);
        vcpu.state = VcpuState::halted;
        break;
    case ExitAction::stop: break;
    }
    return action;
}

// What the lock-holder-aware policy wants to know when it deschedules or defers: CPL (SS.DPL,
// SDM Vol. 3C 24.4.1) and RFLAGS.IF at the last exit.
void note_hints(Vcpu& vcpu)
{
    vcpu.entity.hints.kernel_mode = guest_context::cpl() == 0;
    vcpu.entity.hints.interrupts_off = !(vmcs::read(vmcs::FieldNatural::guest_rflags) & kInterruptFlag);
}

// HLT with RFLAGS.IF=0 in a VM of one vCPU: only NMI, SMI or INIT could wake it, and nothing
// sends those (a KVM_HC_KICK_CPU of itself was taken before this is asked), so it can never run
// again. End it instead of letting the machine wait forever.
bool halted_forever(Vcpu& vcpu)
{
    if (vcpu.vm->vcpu_count != 1 || (vmcs::read(vmcs::FieldNatural::guest_rflags) & kInterruptFlag)) return false;
    char report[160];
    format_to(report, sizeof report, "halted with interrupts disabled at RIP {:#x}: it can never run again",
              vmcs::read(vmcs::FieldNatural::guest_rip));
    vms::end(*vcpu.vm, VmEnd::fault, 0, report);
    return true;
}

// A halted vCPU that KVM_HC_KICK_CPU kicked runs again, whatever its RFLAGS.IF (Linux's
// kvm_wait halts with interrupts off); the kick is used up.
bool take_kick(Vcpu& vcpu)
{
    return __atomic_load_n(&vcpu.pv.unhalted, __ATOMIC_SEQ_CST) && __atomic_exchange_n(&vcpu.pv.unhalted, false, __ATOMIC_SEQ_CST);
}

// Halted or waiting for SIPI: off the run queues until an interrupt, IPI, kick or its timer wakes it.
void block(PerCpu& cpu, Vcpu& vcpu, uint64_t now)
{
    sched::Scheduler& s = scheduling::scheduler();
    bool halted = vcpu.state == VcpuState::halted;
    vcpu.wake_deadline = halted ? interrupts::next_deadline(vcpu) : kNever;
    // The UART's THRE interrupt waits for the console queue to drain, which no timer announces:
    // vCPU 0, which keeps the VM's devices running, looks again as often as the console is fed.
    if (halted && vcpu.index == 0 && __atomic_load_n(&vcpu.vm->devices.uart_owes_thre, __ATOMIC_ACQUIRE)) {
        uint64_t console_poll = now + kConsolePollUs * scheduling::ticks_per_us();
        if (console_poll < vcpu.wake_deadline) vcpu.wake_deadline = console_poll;
    }
    if (vcpu.wake_deadline < cpu.sleeper_deadline) cpu.sleeper_deadline = vcpu.wake_deadline;
    s.block(vcpu.entity, now);
    // A sender posts (or kicks), then wakes only what it sees blocked (vmx/ipi.cpp,
    // vmx/hypercall.cpp); a post that raced with the block is seen here instead. A kick ends
    // only a HLT: one waiting for SIPI would wake for nothing, again and again.
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (ipi::pending(vcpu) || vm_reset::pending(vcpu) ||
        (halted && __atomic_load_n(&vcpu.pv.unhalted, __ATOMIC_SEQ_CST)))
        s.wake(vcpu.entity, now);
}

// The adaptive pause-loop window (kPleWindowMin) and the scheduler's verdict: true when the vCPU
// leaves this CPU now.
bool pause_loop(Vcpu& vcpu, uint64_t now)
{
    note_hints(vcpu);
    bool leave = scheduling::scheduler().pause_loop(vcpu.entity, now);
    uint32_t window = leave ? vcpu.ple_window / 2 : vcpu.ple_window * 2;
    window = window < kPleWindowMin ? kPleWindowMin : window > kPleWindowMax ? kPleWindowMax : window;
    if (window != vcpu.ple_window) {
        vcpu.ple_window = window;
        vmcs::write(vmcs::Field32::ple_window, window);
    }
    return leave;
}

// Runs the vCPU the scheduler picked until its slice ends (unless the policy defers that), it
// blocks, yields or ends, or another CPU asks this one to reschedule.
void run_slice(PerCpu& cpu, Vcpu& vcpu, uint64_t deadline)
{
    sched::Scheduler& s = scheduling::scheduler();
    if (!vcpu.ple_window) vcpu.ple_window = kPleWindowMin;
    for (;;) {
        console::poll();
        if (cpu.index == 0) debug_keys::poll();
        if (vms::ended(*vcpu.vm)) return;  // vms::end has ended its entity
        switch (vm_reset::take(cpu, vcpu)) {
        case vm_reset::Step::run: break;
        case vm_reset::Step::block: return block(cpu, vcpu, cpu::rdtsc());
        case vm_reset::Step::yield: return s.yield(vcpu.entity, cpu::rdtsc());
        }
        // Loaded (resident) before the mailbox is drained: see vcpu_switch::load.
        if (!make_current(cpu, vcpu)) return;
        vm_devices::update_timers(*vcpu.vm, cpu::rdtsc());  // may post the PIT's interrupt
        vm_devices::update_uart(*vcpu.vm);                  // may post the UART's THRE interrupt
        ipi::drain(vcpu);
        take_init_and_sipi(vcpu);
        uint64_t now = cpu::rdtsc();
        if (vcpu.state == VcpuState::wait_for_sipi) return block(cpu, vcpu, now);
        if (!vcpu.vmcs_ready && !make_current(cpu, vcpu)) return;  // a SIPI (re)started it
        if (now >= cpu.sleeper_deadline) scheduling::wake_sleepers(cpu, now);
        if (vcpu.state == VcpuState::halted) {
            // Any end of the HLT uses a kick up, as KVM clears pv_unhalted when it leaves HALTED.
            bool kicked = take_kick(vcpu);
            if (kicked || interrupts::wakes(vcpu, now)) vcpu.state = VcpuState::runnable;
        }
        if (vcpu.state != VcpuState::runnable) {
            if (vcpu.state == VcpuState::halted && halted_forever(vcpu)) return;
            return block(cpu, vcpu, now);
        }
        if (s.take_resched(cpu.index)) return note_hints(vcpu);
        if (now >= deadline) {
            note_hints(vcpu);
            uint64_t extension = s.slice_end(cpu.index, now);
            if (!extension) return;
            deadline = now + extension;
        }
        ExitAction action = run_once(cpu, vcpu, deadline);
        if (action == ExitAction::pause_loop && pause_loop(vcpu, cpu::rdtsc())) return;
        if (action == ExitAction::reschedule) return note_hints(vcpu);
    }
}

// Nothing to run: the CPU gives up the vCPU it holds (another CPU may want it once it wakes) and
// waits for a kick, a sleeper's timer or the policy's deadline.
void idle(PerCpu& cpu, uint64_t until)
{
    sched::Scheduler& s = scheduling::scheduler();
    vcpu_switch::unload(cpu);
    for (;;) {
        console::poll();
        if (cpu.index == 0) debug_keys::poll();
        if (s.take_resched(cpu.index) || scheduling::finished()) return;
        uint64_t now = cpu::rdtsc();
        if (now >= until) return;
        if (now >= cpu.sleeper_deadline) scheduling::wake_sleepers(cpu, now);
        cpu::pause();
    }
}

// CPU `index` of `cpus` cuts its first slice to (index + 1) / cpus of it, so that the CPUs' slices
// end out of phase from then on, as Linux's skew_tick offsets its CPUs' ticks. Otherwise every
// CPU starts its first slice within microseconds of the others (they leave run_everywhere
// together) and, on an emulator that runs them in lockstep, all switch at the same instants:
// round-robin would then co-schedule a VM's vCPUs by accident, which no real machine does.
uint64_t staggered(uint64_t slice, uint32_t index, uint32_t cpus)
{
    return cpus > 1 ? slice / cpus * (index + 1) : slice;
}

}  // namespace

void run(PerCpu& cpu)
{
    sched::Scheduler& s = scheduling::scheduler();
    slice_timer::init_this_cpu();
    bool first_slice = true;
    while (!scheduling::finished()) {
        uint64_t now = cpu::rdtsc();
        scheduling::wake_sleepers(cpu, now);
        sched::Decision d = s.schedule(cpu.index, now);
        if (!d.next) {
            idle(cpu, d.slice ? now + d.slice : kNever);
            continue;
        }
        if (first_slice && d.slice) d.slice = staggered(d.slice, cpu.index, uint32_t(smp::cpus_online()));
        first_slice = false;
        uint64_t minimum = kMinimumRunUs * scheduling::ticks_per_us();
        uint64_t slice = d.slice && d.slice < minimum ? minimum : d.slice;
        // A slice too long to add (a policy's bug) must not wrap around into the past.
        Vcpu& vcpu = scheduling::vcpu_of(*d.next);
        kvm_pv::scheduled_in(vcpu);
        run_slice(cpu, vcpu, slice && slice < kNever - now ? now + slice : kNever);
        // Still this CPU's until the next schedule(): no other CPU can be running it yet.
        if (vcpu.state == VcpuState::runnable && !vms::ended(*vcpu.vm)) kvm_pv::preempted(vcpu);
    }
    vcpu_switch::unload(cpu);
}

}  // namespace vcpu_loop
