// Matryoshka's hypercall ABI: VMCALL with the function number in RAX, arguments in RBX, RCX,
// RDX; the result comes back in RAX (0 success, negative error). Only CPL 0 may call.
//
//   0  console_write(RBX = guest-physical address, RCX = length <= 4096): the bytes appear on
//      the hypervisor console as the VM's lines, like its UART output.
//   1  exit(RBX = value): ends the VM with that value, as a write to the debug-exit port does.
//   2  preemption_hint(RBX = microseconds): asks not to be preempted for that long (e.g. around a
//      critical section); returns the microseconds granted, bounded per request and per slice
//      (sched/README.md). Only the lock-holder-aware policy acts on it.
//   0x7fff  nop: returns 0 (for measuring the round trip).
#pragma once
#include <cstdint>

namespace hypercall {

constexpr uint64_t console_write = 0, exit = 1, preemption_hint = 2, nop = 0x7fff;
constexpr int64_t ok = 0, unknown_function = -1, bad_argument = -2, not_permitted = -3;
constexpr uint64_t kMaxConsoleWrite = 4096;

}  // namespace hypercall
