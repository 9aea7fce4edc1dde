#include "vmx/hypercall_check.hpp"

#include "vmx/hypercall.hpp"

namespace hypercall {

Checked check(const GuestRam& ram, unsigned cpl, uint64_t rax, uint64_t rbx, uint64_t rcx)
{
    Checked call{ok, rax, 0, 0};
    if (cpl != 0) call.error = not_permitted;
    else if (rax == console_write) {
        // contains() rejects wrap-around: it compares the length with the room left after rbx.
        if (rcx > kMaxConsoleWrite || !ram.contains(rbx, rcx)) call.error = bad_argument;
        else call.address = rbx, call.length = rcx;
    } else if (rax != exit && rax != preemption_hint && rax != nop) call.error = unknown_function;
    return call;
}

}  // namespace hypercall
