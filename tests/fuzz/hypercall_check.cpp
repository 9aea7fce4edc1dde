// libFuzzer target: vmx/hypercall_check, the hypercall argument checks. The input is ten
// little-endian fields (missing bytes are 0): CPL (1 byte, low 2 bits; bit 2: 64-bit mode), RAX,
// RBX, RCX, RDX, RSI, the RAM size and the hole's start and end (8 bytes each; the hole is
// clamped into RAM, start <= end). Checked against an independent statement of the rules: outside
// 64-bit mode every register counts modulo 2^32; a call is accepted exactly when it comes from
// CPL 0 with a known function and, for console_write, a length of at most kMaxConsoleWrite whose
// range ends inside RAM without wrapping and misses the hole; the arguments are the registers.
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
    const unsigned flags = unsigned(in.take(1));
    const unsigned cpl = flags & 3;
    const bool mode_64_bit = flags & 4;
    const uint64_t rax_in = in.take(8), rbx_in = in.take(8), rcx_in = in.take(8), rdx_in = in.take(8),
                   rsi_in = in.take(8);
    GuestRam ram{nullptr, in.take(8)};  // the checks never touch the bytes
    ram.hole_end = in.take(8);
    ram.hole_start = in.take(8);
    if (ram.hole_end > ram.size) ram.hole_end = ram.size;
    if (ram.hole_start > ram.hole_end) ram.hole_start = ram.hole_end;

    const hypercall::Checked call = hypercall::check(ram, {cpl, mode_64_bit, rax_in, rbx_in, rcx_in, rdx_in, rsi_in});
    const uint64_t rax = mode_64_bit ? rax_in : uint32_t(rax_in), rbx = mode_64_bit ? rbx_in : uint32_t(rbx_in),
                   rcx = mode_64_bit ? rcx_in : uint32_t(rcx_in), rdx = mode_64_bit ? rdx_in : uint32_t(rdx_in),
                   rsi = mode_64_bit ? rsi_in : uint32_t(rsi_in);
    const bool known = rax == 5 || rax == 11 || rax == 0x4d480000 || rax == 0x4d480001 || rax == 0x4d480002 ||
                       rax == 0x4d487fff;
    int64_t expected = hypercall::ok;
    if (cpl != 0) expected = -1;
    else if (!known) expected = -1000;
    else if (rax == 0x4d480000 && (rcx > 4096 || !inside_ram(rbx, rcx, ram))) expected = -22;
    check(call.error == expected);
    check(call.function == rax);
    check(call.args[0] == rbx && call.args[1] == rcx && call.args[2] == rdx && call.args[3] == rsi);
    if (call.error == hypercall::ok && rax == hypercall::console_write)
        check(call.args[1] <= hypercall::kMaxConsoleWrite && inside_ram(call.args[0], call.args[1], ram));
    const uint64_t result = hypercall::result_register(call.error, mode_64_bit);
    check(result == (mode_64_bit ? uint64_t(call.error) : uint64_t(uint32_t(call.error))));
    return 0;
}
