// A vCPU's general-purpose registers as the exit path saves them, indexed by their x86 encoding
// (0 RAX, 1 RCX, 2 RDX, 3 RBX, 4 RSP, 5 RBP, 6 RSI, 7 RDI, 8-15 R8-R15), so decoded ModRM/REX
// register numbers index it directly. RSP, RIP and RFLAGS live in the VMCS; the exit path
// copies them in and out around emulation. Hardware-independent.
#pragma once
#include <cstdint>

enum class CpuMode : uint8_t { real, protected16, protected32, long64 };

struct GuestRegisters {
    uint64_t gpr[16];
    uint64_t rip;
    uint64_t rflags;
};

namespace reg {
constexpr unsigned rax = 0, rcx = 1, rdx = 2, rbx = 3, rsp = 4, rbp = 5, rsi = 6, rdi = 7;
}
