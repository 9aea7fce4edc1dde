// The argument checks of a hypercall (vmx/hypercall.hpp's ABI), before anything acts on it:
// CPL, the width of the registers (32 bits outside 64-bit mode), the function number, and for
// console_write that [address, address + length) lies in the VM's RAM (not past its end, not
// wrapping around 2^64, not in the PC hole; the MMIO pages are past the end) and is at most
// kMaxConsoleWrite bytes. Pure: the RAM is a GuestRam, so host tests and a fuzz target run it;
// vmx/hypercall.cpp does the call.
#pragma once
#include <cstdint>

#include "vmx/guest_ram.hpp"

namespace hypercall {

// The guest at its VMCALL.
struct Caller {
    unsigned cpl;
    bool mode_64_bit;  // EFER.LMA and CS.L: the registers are 64 bits wide
    uint64_t rax, rbx, rcx, rdx, rsi;
};

struct Checked {
    int64_t error;      // ok: do `function`; otherwise return this to the guest, doing nothing
    uint64_t function;  // RAX, 32 bits outside 64-bit mode
    uint64_t args[4];   // RBX, RCX, RDX, RSI, likewise; console_write: a range inside RAM
};

Checked check(const GuestRam& ram, const Caller& caller);

// What RAX gets: `result`, its low 32 bits outside 64-bit mode.
uint64_t result_register(int64_t result, bool mode_64_bit);

}  // namespace hypercall
