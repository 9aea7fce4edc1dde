#include "vmx/hypercall_check.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "vmx/hypercall.hpp"

namespace {

constexpr uint64_t kRamSize = 2ull << 20;

struct HypercallCheck : ::testing::Test {
    std::vector<uint8_t> bytes = std::vector<uint8_t>(kRamSize);
    GuestRam ram{bytes.data(), kRamSize, 0xa0000, 0x100000};  // the PC hole

    hypercall::Checked call(uint64_t function, uint64_t rbx = 0, uint64_t rcx = 0, unsigned cpl = 0,
                            bool mode_64_bit = true) const
    {
        return hypercall::check(ram, {cpl, mode_64_bit, function, rbx, rcx, 0, 0});
    }
    int64_t console_write(uint64_t address, uint64_t length, unsigned cpl = 0) const
    {
        return call(hypercall::console_write, address, length, cpl).error;
    }
};

TEST_F(HypercallCheck, ConsoleWriteInsideRamIsAcceptedAsGiven)
{
    hypercall::Checked accepted = call(hypercall::console_write, 0x1000, 12);
    EXPECT_EQ(accepted.error, hypercall::ok);
    EXPECT_EQ(accepted.function, hypercall::console_write);
    EXPECT_EQ(accepted.args[0], 0x1000u);
    EXPECT_EQ(accepted.args[1], 12u);
    EXPECT_EQ(console_write(kRamSize - hypercall::kMaxConsoleWrite, hypercall::kMaxConsoleWrite), hypercall::ok);
    EXPECT_EQ(console_write(0x9f000, 0x1000), hypercall::ok);   // ends where the hole starts
    EXPECT_EQ(console_write(0x100000, 0x1000), hypercall::ok);  // starts where it ends
    EXPECT_EQ(console_write(0x5000, 0), hypercall::ok);
}

TEST_F(HypercallCheck, ConsoleWriteOutsideRamIsRefused)
{
    EXPECT_EQ(console_write(0x1000, hypercall::kMaxConsoleWrite + 1), hypercall::bad_argument);
    EXPECT_EQ(console_write(kRamSize - 4, 5), hypercall::bad_argument);  // past the end
    EXPECT_EQ(console_write(kRamSize, 1), hypercall::bad_argument);
    EXPECT_EQ(console_write(0x9ffff, 2), hypercall::bad_argument);  // into the hole
    EXPECT_EQ(console_write(0xb8000, 16), hypercall::bad_argument); // inside it
    EXPECT_EQ(console_write(0xfffff, 2), hypercall::bad_argument);  // out of it
    EXPECT_EQ(console_write(0xfee00000, 16), hypercall::bad_argument);  // the LAPIC page
    EXPECT_EQ(console_write(~0ull - 7, 16), hypercall::bad_argument);   // wraps around 2^64
    EXPECT_EQ(console_write(0x1000, ~0ull), hypercall::bad_argument);
    EXPECT_EQ(console_write(0xffff'f000, 0x2000), hypercall::bad_argument);  // past 4 GiB
}

// KVM's numbers and errors: -KVM_EPERM (-1) and -KVM_ENOSYS (-1000).
TEST_F(HypercallCheck, FunctionsAndPrivilege)
{
    for (uint64_t f : {hypercall::kvm::kick_cpu, hypercall::kvm::sched_yield, hypercall::exit,
                       hypercall::preemption_hint, hypercall::nop}) {
        hypercall::Checked accepted = call(f, ~uint64_t(0), ~uint64_t(0));
        EXPECT_EQ(accepted.error, hypercall::ok) << f;
        EXPECT_EQ(accepted.function, f);
        EXPECT_EQ(accepted.args[0], ~uint64_t(0));
    }
    EXPECT_EQ(hypercall::not_permitted, -1);
    EXPECT_EQ(hypercall::unknown_function, -1000);
    // Matryoshka's old numbers are KVM's now: 0 and 1 unknown (KVM's 1 is KVM_HC_VAPIC_POLL_IRQ,
    // not offered), 2 KVM_HC_MMU_OP (gone from KVM), 10 KVM_HC_SEND_IPI (not offered).
    for (uint64_t f : {uint64_t(0), uint64_t(1), uint64_t(2), uint64_t(10), uint64_t(12), uint64_t(0x7fff),
                       hypercall::kMatryoshkaBase + 3, hypercall::kMatryoshkaBase + 0x7ffe,
                       hypercall::kMatryoshkaBase + 0x8000, (uint64_t(1) << 32) | hypercall::exit,
                       (uint64_t(1) << 32) | hypercall::kvm::kick_cpu, ~uint64_t(0)})
        EXPECT_EQ(call(f).error, hypercall::unknown_function) << f;
    for (unsigned cpl : {1u, 2u, 3u}) {
        EXPECT_EQ(console_write(0x1000, 12, cpl), hypercall::not_permitted);
        for (uint64_t f : {hypercall::exit, hypercall::kvm::kick_cpu, hypercall::kvm::sched_yield, uint64_t(99)})
            EXPECT_EQ(call(f, 0, 0, cpl).error, hypercall::not_permitted) << f;
    }
}

// Outside 64-bit mode KVM takes the number and arguments modulo 2^32 (is_64_bit_hypercall).
TEST_F(HypercallCheck, RegistersAre32BitsOutside64BitMode)
{
    const uint64_t high = 0xdead'beef'0000'0000ull;
    hypercall::Checked masked = hypercall::check(ram, {0, false, high | hypercall::console_write, high | 0x1000,
                                                       high | 12, high | 3, high | 4});
    EXPECT_EQ(masked.error, hypercall::ok);
    EXPECT_EQ(masked.function, hypercall::console_write);
    EXPECT_EQ(masked.args[0], 0x1000u);
    EXPECT_EQ(masked.args[1], 12u);
    EXPECT_EQ(masked.args[2], 3u);
    EXPECT_EQ(masked.args[3], 4u);
    EXPECT_EQ(call(high | hypercall::kvm::kick_cpu, 0, 0, 0, false).error, hypercall::ok);
    EXPECT_EQ(call(high | hypercall::kvm::kick_cpu, 0, 0, 0, true).error, hypercall::unknown_function);
    // 64-bit mode takes them whole: the same console write lies far outside RAM.
    EXPECT_EQ(hypercall::check(ram, {0, true, hypercall::console_write, high | 0x1000, 12, 0, 0}).error,
              hypercall::bad_argument);
    EXPECT_EQ(hypercall::result_register(hypercall::unknown_function, false), 0xffff'fc18u);
    EXPECT_EQ(hypercall::result_register(hypercall::unknown_function, true), uint64_t(-1000));
    EXPECT_EQ(hypercall::result_register(7, false), 7u);
}

}  // namespace
