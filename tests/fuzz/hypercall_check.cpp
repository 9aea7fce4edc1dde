// libFuzzer target: vmx/hypercall_check, the hypercall argument checks. The input is seven
// little-endian fields (missing bytes are 0): CPL (1 byte, low 2 bits), RAX, RBX, RCX, the RAM
// size and the hole's start and end (8 bytes each; the hole is clamped into RAM, start <= end).
// Checked against an independent statement of the rules: a call is accepted exactly when it
// comes from CPL 0 with a known function and, for console_write, a length of at most
// kMaxConsoleWrite whose range ends inside RAM without wrapping and misses the hole; an accepted
// range is the one asked for, and other functions carry none.
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/check.hpp"
#include "vmx/hypercall.hpp"
#include "vmx/hypercall_check.hpp"

namespace {

struct Input {
    const uint8_t* data;
    size_t size, at = 0;

    uint64_t take(unsigned bytes)
    {
        uint64_t value = 0;
        for (unsigned i = 0; i < bytes; ++i, ++at)
            if (at < size) value |= uint64_t(data[at]) << (8 * i);
        return value;
    }
};

bool inside_ram(uint64_t address, uint64_t length, const GuestRam& ram)
{
    if (address > UINT64_MAX - length) return false;  // wraps around 2^64
    const uint64_t end = address + length;
    if (end > ram.size) return false;
    return end <= ram.hole_start || address >= ram.hole_end || ram.hole_start == ram.hole_end;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    Input in{data, size};
    const unsigned cpl = unsigned(in.take(1) & 3);
    const uint64_t rax = in.take(8), rbx = in.take(8), rcx = in.take(8);
    GuestRam ram{nullptr, in.take(8)};  // the checks never touch the bytes
    ram.hole_end = in.take(8);
    ram.hole_start = in.take(8);
    if (ram.hole_end > ram.size) ram.hole_end = ram.size;
    if (ram.hole_start > ram.hole_end) ram.hole_start = ram.hole_end;

    const hypercall::Checked call = hypercall::check(ram, cpl, rax, rbx, rcx);
    const bool known = rax == hypercall::console_write || rax == hypercall::exit ||
                       rax == hypercall::preemption_hint || rax == hypercall::nop;
    int64_t expected = hypercall::ok;
    if (cpl != 0) expected = hypercall::not_permitted;
    else if (!known) expected = hypercall::unknown_function;
    else if (rax == hypercall::console_write && (rcx > hypercall::kMaxConsoleWrite || !inside_ram(rbx, rcx, ram)))
        expected = hypercall::bad_argument;
    check(call.error == expected);
    check(call.function == rax);
    if (call.error == hypercall::ok && rax == hypercall::console_write) {
        check(call.address == rbx && call.length == rcx);
        check(call.length <= hypercall::kMaxConsoleWrite && inside_ram(call.address, call.length, ram));
    } else {
        check(call.address == 0 && call.length == 0);
    }
    return 0;
}
