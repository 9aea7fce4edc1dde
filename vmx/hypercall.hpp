// The hypercall ABI: VMCALL with the function number in RAX, arguments in RBX, RCX, RDX, RSI; the
// result comes back in RAX. Two sets of functions share it, in separate number ranges:
//
// KVM's (Linux Documentation/virt/kvm/x86/hypercalls.rst), so that an unmodified Linux guest
// gets the paravirtual spinlocks and yield it knows (CPUID 0x40000001 shows them, kvm_feature):
//   5   KVM_HC_KICK_CPU(RBX = flags, ignored; RCX = APIC ID): the vCPU of this VM with that APIC
//       ID stops halting, even a HLT with RFLAGS.IF=0, as KVM's pv_unhalted: a kick that finds
//       it running ends its next HLT at once. Returns 0, also when no vCPU has that ID.
//   11  KVM_HC_SCHED_YIELD(RBX = APIC ID): the caller gives its CPU to that vCPU of this VM
//       (Scheduler::yield_to) when it waits to run. Returns 0, whether it did or not.
//
// Matryoshka's own, from 0x4d480000 ("MH"), far above KVM's numbers:
//   0x4d480000  console_write(RBX = guest-physical address, RCX = length <= 4096): the bytes
//               appear on the hypervisor console as the VM's lines, like its UART output.
//   0x4d480001  exit(RBX = value): ends the VM with that value, as a write to the debug-exit
//               port does.
//   0x4d480002  preemption_hint(RBX = microseconds): asks not to be preempted for that long
//               (e.g. around a critical section); returns the microseconds granted, bounded per
//               request and per slice (sched/README.md). Only the lock-holder-aware policy acts
//               on it.
//   0x4d487fff  nop: returns 0 (for measuring the round trip).
//
// Errors are KVM's for both: -1 (-KVM_EPERM) for any call from CPL > 0, before anything else;
// -1000 (-KVM_ENOSYS) for an unknown function; -22 (-KVM_EINVAL) for a bad argument. Outside
// 64-bit mode (EFER.LMA=0 or CS.L=0) the number, the arguments and the result are 32 bits, as
// KVM's is_64_bit_hypercall: the registers' upper halves are ignored and RAX's are cleared.
#pragma once
#include <cstdint>

namespace hypercall {

namespace kvm {
constexpr uint64_t kick_cpu = 5, sched_yield = 11;
}

constexpr uint64_t kMatryoshkaBase = 0x4d480000;
constexpr uint64_t console_write = kMatryoshkaBase, exit = kMatryoshkaBase + 1,
                   preemption_hint = kMatryoshkaBase + 2, nop = kMatryoshkaBase + 0x7fff;
constexpr int64_t ok = 0, not_permitted = -1, bad_argument = -22, unknown_function = -1000;
constexpr uint64_t kMaxConsoleWrite = 4096;

}  // namespace hypercall
