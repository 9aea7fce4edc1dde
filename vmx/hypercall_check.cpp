#include "vmx/hypercall_check.hpp"

#include "vmx/hypercall.hpp"

namespace hypercall {
namespace {

bool known(uint64_t function)
{
    return function == kvm::kick_cpu || function == kvm::sched_yield || function == console_write ||
           function == exit || function == preemption_hint || function == nop;
}

}  // namespace

Checked check(const GuestRam& ram, const Caller& caller)
{
    const uint64_t width = caller.mode_64_bit ? ~uint64_t(0) : 0xffffffffu;
    Checked call{ok, caller.rax & width, {caller.rbx & width, caller.rcx & width, caller.rdx & width, caller.rsi & width}};
    // KVM refuses CPL > 0 before it looks at the number.
    if (caller.cpl != 0) call.error = not_permitted;
    else if (!known(call.function)) call.error = unknown_function;
    // contains() rejects wrap-around: it compares the length with the room left after the address.
    else if (call.function == console_write && (call.args[1] > kMaxConsoleWrite || !ram.contains(call.args[0], call.args[1])))
        call.error = bad_argument;
    return call;
}

uint64_t result_register(int64_t result, bool mode_64_bit)
{
    return mode_64_bit ? uint64_t(result) : uint64_t(result) & 0xffffffffu;
}

}  // namespace hypercall
