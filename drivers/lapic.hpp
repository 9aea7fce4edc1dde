// The local APIC of the CPU running this code, in x2APIC mode (MSRs) when the CPU supports it,
// otherwise xAPIC (MMIO). The hypervisor uses it to start CPUs and, later, for IPIs and timers.
#pragma once
#include <cstdint>

namespace lapic {

enum class Mode : uint8_t { xapic, x2apic };

// Boot CPU: chooses the mode (x2APIC when CPUID.1:ECX[21], or when firmware already enabled it)
// and, for xAPIC mode, maps the register page. False when that mapping fails.
bool init_boot_cpu();
// Every CPU (boot CPU included): the chosen mode, software-enabled, all LVT entries masked.
void init_this_cpu();
Mode mode();
uint32_t id();

// SDM Vol. 3A 10.6.1: INIT and start-up IPIs; false when the ICR never reported delivery.
bool send_init(uint32_t apic_id);
void end_of_interrupt();
// A fixed-vector IPI to another CPU (not waited for: used to kick CPUs out of guest mode).
void send_fixed(uint32_t apic_id, uint8_t vector);
bool send_startup(uint32_t apic_id, uint8_t vector_page);
// An NMI to every other CPU (shorthand "all excluding self"): how a panic stops the machine.
void send_nmi_to_others();

// The timer (SDM Vol. 3A 10.5.4): `vector` when it fires, in TSC-deadline mode (armed by writing
// IA32_TSC_DEADLINE) or one-shot mode (armed with an initial count, divide by 1).
void timer_use_tsc_deadline(uint8_t vector);
void timer_use_one_shot(uint8_t vector);
// TSC-deadline mode: fire when the TSC reaches `tsc`; 0 disarms.
void timer_arm_tsc_deadline(uint64_t tsc);
// One-shot mode: fire after `count` timer ticks; 0 disarms.
void timer_arm_one_shot(uint32_t count);
uint32_t timer_current_count();

}  // namespace lapic
