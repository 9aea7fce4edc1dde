// The argument checks of a hypercall (vmx/hypercall.hpp's ABI), before anything acts on it:
// CPL, function number, and for console_write that [address, address + length) lies in the VM's
// RAM (not past its end, not wrapping around 2^64, not in the PC hole; the MMIO pages are past
// the end) and is at most kMaxConsoleWrite bytes. Pure: the RAM is a GuestRam, so host tests and
// a fuzz target run it; vmx/hypercall.cpp does the call.
#pragma once
#include <cstdint>

#include "vmx/guest_ram.hpp"

namespace hypercall {

struct Checked {
    int64_t error;      // ok: do `function`; otherwise return this to the guest, doing nothing
    uint64_t function;  // RAX
    uint64_t address, length;  // console_write: the guest-physical bytes to print, inside RAM
};

// `rax`, `rbx`, `rcx`: the guest's registers at its VMCALL; `cpl` its privilege level.
Checked check(const GuestRam& ram, unsigned cpl, uint64_t rax, uint64_t rbx, uint64_t rcx);

}  // namespace hypercall
