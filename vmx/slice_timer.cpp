#include "vmx/slice_timer.hpp"

#include "arch/cpu.hpp"
#include "arch/tsc.hpp"
#include "drivers/lapic.hpp"
#include "vmx/vmcs.hpp"
#include "vmx/vmx_root.hpp"

namespace slice_timer {
namespace {

// A host vector of its own (the kick is ipi::kKickVector): taken by "acknowledge interrupt on
// exit" and completed by the external-interrupt exit handler like any host interrupt.
constexpr uint8_t kTimerVector = 0xf1;
constexpr uint64_t kNever = ~0ull;

Kind chosen = Kind::vmx_preemption_timer;
// One-shot mode: LAPIC timer ticks (divide by 1) per TSC tick, as a 32.32 fixed-point number.
uint64_t lapic_per_tsc_q32;

// The LAPIC timer counts at the bus or crystal clock, which nothing reports reliably (CPUID 0x15
// only on some processors): measure it against the TSC over 1 ms.
uint64_t measure_lapic_rate()
{
    lapic::timer_use_one_shot(kTimerVector);
    uint64_t window = tsc::frequency_hz() / 1000;
    lapic::timer_arm_one_shot(0xffffffff);
    uint64_t start = cpu::rdtsc();
    while (cpu::rdtsc() - start < window) cpu::pause();
    uint64_t counted = 0xffffffffull - lapic::timer_current_count();
    uint64_t elapsed = cpu::rdtsc() - start;
    lapic::timer_arm_one_shot(0);
    uint64_t rate = (counted << 32) / (elapsed ? elapsed : 1);
    return rate ? rate : 1;
}

// Rounded up by 1/64: a rate measured a little high must not make the timer fire before the
// deadline, which would cost an exit that ends nothing (late by 1.6% at most instead).
uint32_t one_shot_count(uint64_t ticks)
{
    uint64_t count = uint64_t((unsigned __int128)ticks * lapic_per_tsc_q32 >> 32);
    count += count / 64 + 1;
    return count == 0 ? 1 : count > 0xffffffff ? 0xffffffff : uint32_t(count);
}

}  // namespace

void init(Kind kind)
{
    chosen = kind;
    if (kind == Kind::vmx_preemption_timer) return;
    vmx::disable_preemption_timer();
    if (kind == Kind::lapic_one_shot) lapic_per_tsc_q32 = measure_lapic_rate();
}

Kind kind() { return chosen; }

void init_this_cpu()
{
    this_cpu().slice_timer_deadline = 0;
    if (chosen == Kind::lapic_tsc_deadline) lapic::timer_use_tsc_deadline(kTimerVector);
    else if (chosen == Kind::lapic_one_shot) lapic::timer_use_one_shot(kTimerVector);
}

void arm(PerCpu& cpu, uint64_t now, uint64_t deadline)
{
    if (chosen == Kind::vmx_preemption_timer) {
        uint8_t shift = vmx::platform().features.preemption_timer_shift;
        uint64_t ticks = deadline > now ? (deadline - now) >> shift : 0;
        vmcs::write(vmcs::Field32::preemption_timer_value, ticks > 0xffffffff ? 0xffffffff : uint32_t(ticks));
        return;
    }
    // The LAPIC timer is the CPU's, not the VMCS's: still armed for this deadline (it has not
    // fired, see interrupted()), it needs no write. A timer that fired while the host ran
    // (interrupts off) stays pending and makes the next entry exit at once: one spurious exit,
    // after which the loop re-arms.
    if (deadline == cpu.slice_timer_deadline && deadline > now) return;
    cpu.slice_timer_deadline = deadline;
    if (chosen == Kind::lapic_tsc_deadline) lapic::timer_arm_tsc_deadline(deadline == kNever ? 0 : deadline);
    else lapic::timer_arm_one_shot(deadline == kNever ? 0 : one_shot_count(deadline > now ? deadline - now : 0));
}

void interrupted(PerCpu& cpu, uint8_t vector)
{
    if (vector == kTimerVector) cpu.slice_timer_deadline = 0;
}

}  // namespace slice_timer
