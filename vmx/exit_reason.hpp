// Basic VM-exit reasons (SDM Vol. 3D Appendix C "VMX Basic Exit Reasons") and their names for
// reports and per-VM exit statistics. Hardware-independent.
#pragma once
#include <cstdint>

namespace exit_reason {
constexpr uint32_t exception_or_nmi = 0, external_interrupt = 1, triple_fault = 2, init_signal = 3,
                   startup_ipi = 4, interrupt_window = 7, nmi_window = 8, task_switch = 9, cpuid = 10,
                   getsec = 11, hlt = 12, invd = 13, invlpg = 14, rdpmc = 15, rdtsc = 16, rsm = 17, vmcall = 18,
                   vmclear = 19, vmlaunch = 20, vmptrld = 21, vmptrst = 22, vmread = 23, vmresume = 24,
                   vmwrite = 25, vmxoff = 26, vmxon = 27, cr_access = 28, dr_access = 29, io_instruction = 30,
                   rdmsr = 31, wrmsr = 32, invalid_guest_state = 33, msr_loading = 34, mwait = 36,
                   monitor_trap_flag = 37, monitor = 39, pause = 40, machine_check = 41, tpr_below_threshold = 43,
                   apic_access = 44, virtualized_eoi = 45, gdtr_idtr = 46, ldtr_tr = 47, ept_violation = 48,
                   ept_misconfiguration = 49, invept = 50, rdtscp = 51, preemption_timer = 52, invvpid = 53,
                   wbinvd = 54, xsetbv = 55, apic_write = 56, rdrand = 57, invpcid = 58, vmfunc = 59, encls = 60,
                   rdseed = 61, pml_full = 62, xsaves = 63, xrstors = 64, umwait = 67, tpause = 68;
constexpr uint32_t count = 80;
// Bit 31 of the exit reason field: the exit is a failed VM entry (SDM Vol. 3C 28.8).
constexpr uint32_t entry_failure = 1u << 31;

const char* name(uint32_t reason);
}  // namespace exit_reason
