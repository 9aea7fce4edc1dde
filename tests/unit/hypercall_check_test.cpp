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

    int64_t console_write(uint64_t address, uint64_t length, unsigned cpl = 0) const
    {
        return hypercall::check(ram, cpl, hypercall::console_write, address, length).error;
    }
};

TEST_F(HypercallCheck, ConsoleWriteInsideRamIsAcceptedAsGiven)
{
    hypercall::Checked call = hypercall::check(ram, 0, hypercall::console_write, 0x1000, 12);
    EXPECT_EQ(call.error, hypercall::ok);
    EXPECT_EQ(call.function, hypercall::console_write);
    EXPECT_EQ(call.address, 0x1000u);
    EXPECT_EQ(call.length, 12u);
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

TEST_F(HypercallCheck, FunctionsAndPrivilege)
{
    for (uint64_t f : {hypercall::exit, hypercall::preemption_hint, hypercall::nop}) {
        hypercall::Checked call = hypercall::check(ram, 0, f, ~uint64_t(0), ~uint64_t(0));
        EXPECT_EQ(call.error, hypercall::ok) << f;
        EXPECT_EQ(call.function, f);
        EXPECT_EQ(call.length, 0u);
    }
    for (uint64_t f : {uint64_t(3), uint64_t(0x7ffe), uint64_t(0x8000), uint64_t(1) << 32, ~uint64_t(0)})
        EXPECT_EQ(hypercall::check(ram, 0, f, 0, 0).error, hypercall::unknown_function) << f;
    for (unsigned cpl : {1u, 2u, 3u}) {
        EXPECT_EQ(console_write(0x1000, 12, cpl), hypercall::not_permitted);
        EXPECT_EQ(hypercall::check(ram, cpl, hypercall::exit, 0, 0).error, hypercall::not_permitted);
        EXPECT_EQ(hypercall::check(ram, cpl, 99, 0, 0).error, hypercall::not_permitted);
    }
}

}  // namespace
