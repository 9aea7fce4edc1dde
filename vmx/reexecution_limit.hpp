// How often the MMIO emulator lets a vCPU re-execute one instruction whose bytes do not make the
// access of its EPT violation (vmx/exit_ept.cpp). Another vCPU rewriting the instruction, or a
// stale TLB entry, gives a mismatch now and then: the processor fetches again and the next exit
// matches. The same RIP failing kMaxInARow times in a row is a mismatch that re-execution cannot
// cure (e.g. the exit was a page walk through a page table in device memory, or an instruction
// the emulator lacks): the caller then treats it as unsupported.
#pragma once
#include <cstdint>

class ReexecutionLimit {
public:
    static constexpr uint32_t kMaxInARow = 64;

    // The instruction at `rip` did not match its exit: true to re-execute it, false when that
    // would be the (kMaxInARow + 1)-th time in a row (the count then starts again).
    constexpr bool allow(uint64_t rip)
    {
        if (rip != rip_) in_a_row_ = 0;
        rip_ = rip;
        if (++in_a_row_ > kMaxInARow) {
            in_a_row_ = 0;
            return false;
        }
        return true;
    }

    // The instruction at `rip` was emulated: a later mismatch there starts a new count.
    constexpr void emulated(uint64_t rip)
    {
        if (rip == rip_) in_a_row_ = 0;
    }

    constexpr uint32_t in_a_row() const { return in_a_row_; }

private:
    uint64_t rip_ = 0;
    uint32_t in_a_row_ = 0;
};
