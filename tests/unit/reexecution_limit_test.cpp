// ReexecutionLimit: how often the MMIO emulator re-executes an instruction that does not match
// its EPT violation before ending the VM (vmx/exit_ept.cpp).
#include "vmx/reexecution_limit.hpp"

#include <gtest/gtest.h>

namespace {

constexpr uint64_t kRip = 0x1000, kOtherRip = 0x2000;

// A permanent mismatch: kMaxInARow re-executions, then a refusal.
TEST(ReexecutionLimit, RefusesTheOneAfterTheLimitInARow)
{
    ReexecutionLimit limit;
    for (uint32_t i = 1; i <= ReexecutionLimit::kMaxInARow; ++i) {
        ASSERT_TRUE(limit.allow(kRip)) << "re-execution " << i;
        EXPECT_EQ(limit.in_a_row(), i);
    }
    EXPECT_FALSE(limit.allow(kRip));
    // The refusal restarts the count: the next mismatch there (the guest handled its fate and
    // came back) gets its own kMaxInARow.
    EXPECT_EQ(limit.in_a_row(), 0u);
    EXPECT_TRUE(limit.allow(kRip));
}

// Another RIP starts a new count: mismatches at alternating instructions are never "in a row".
TEST(ReexecutionLimit, AnotherRipStartsANewCount)
{
    ReexecutionLimit limit;
    for (uint32_t i = 0; i < 10 * ReexecutionLimit::kMaxInARow; ++i)
        ASSERT_TRUE(limit.allow(i % 2 ? kRip : kOtherRip)) << "mismatch " << i;
    EXPECT_EQ(limit.in_a_row(), 1u);
}

// An emulated instruction at the counted RIP ends the row (another vCPU rewriting it gives a
// mismatch now and then, then a match); one elsewhere does not.
TEST(ReexecutionLimit, EmulationAtTheRipEndsTheRow)
{
    ReexecutionLimit limit;
    for (uint32_t round = 0; round < 10; ++round) {
        for (uint32_t i = 0; i < ReexecutionLimit::kMaxInARow; ++i) ASSERT_TRUE(limit.allow(kRip));
        limit.emulated(kRip);
        EXPECT_EQ(limit.in_a_row(), 0u);
    }
    for (uint32_t i = 0; i < ReexecutionLimit::kMaxInARow; ++i) ASSERT_TRUE(limit.allow(kRip));
    limit.emulated(kOtherRip);
    EXPECT_EQ(limit.in_a_row(), ReexecutionLimit::kMaxInARow);
    EXPECT_FALSE(limit.allow(kRip));
}

}  // namespace
