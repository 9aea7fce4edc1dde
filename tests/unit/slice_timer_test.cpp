// Which timer ends slices: the VMX-preemption timer when the capability MSRs allow it, else the
// host LAPIC timer, in TSC-deadline mode when CPUID reports it.
#include "vmx/slice_timer.hpp"

#include <gtest/gtest.h>

#include "vmx/capabilities.hpp"

namespace {

using slice_timer::Kind;
using slice_timer::Wanted;

// IA32_VMX_PINBASED_CTLS with "activate VMX-preemption timer" allowed-1 or not (SDM A.3.1:
// allowed-1 settings in bits 63:32); external-interrupt and NMI exiting allowed either way.
uint64_t pinbased(bool timer)
{
    uint32_t allowed1 = vmx::pin::external_interrupt_exiting | vmx::pin::nmi_exiting | (timer ? vmx::pin::preemption_timer : 0);
    return uint64_t(allowed1) << 32;
}

bool timer_allowed(bool timer)
{
    vmx::CapabilityMsrs msrs{};
    msrs.pinbased_ctls = pinbased(timer);
    return vmx::decode(msrs).preemption_timer;
}

TEST(SliceTimer, VmxTimerWhenTheCapabilityMsrAllowsIt)
{
    EXPECT_EQ(slice_timer::choose(Wanted::automatic, timer_allowed(true), true), Kind::vmx_preemption_timer);
    EXPECT_EQ(slice_timer::choose(Wanted::automatic, timer_allowed(true), false), Kind::vmx_preemption_timer);
}

TEST(SliceTimer, LapicFallbackWhenAllowed1IsZero)
{
    EXPECT_EQ(slice_timer::choose(Wanted::automatic, timer_allowed(false), true), Kind::lapic_tsc_deadline);
    EXPECT_EQ(slice_timer::choose(Wanted::automatic, timer_allowed(false), false), Kind::lapic_one_shot);
}

TEST(SliceTimer, ForcedFallbackEvenWithTheVmxTimer)
{
    EXPECT_EQ(slice_timer::choose(Wanted::lapic, timer_allowed(true), true), Kind::lapic_tsc_deadline);
    EXPECT_EQ(slice_timer::choose(Wanted::lapic, timer_allowed(true), false), Kind::lapic_one_shot);
    EXPECT_EQ(slice_timer::choose(Wanted::lapic_one_shot, timer_allowed(true), true), Kind::lapic_one_shot);
    EXPECT_EQ(slice_timer::choose(Wanted::lapic_one_shot, timer_allowed(false), false), Kind::lapic_one_shot);
}

TEST(SliceTimer, Names)
{
    EXPECT_STREQ(slice_timer::name(Kind::vmx_preemption_timer), "VMX-preemption timer");
    EXPECT_STREQ(slice_timer::name(Kind::lapic_tsc_deadline), "LAPIC timer (TSC-deadline)");
    EXPECT_STREQ(slice_timer::name(Kind::lapic_one_shot), "LAPIC timer (one-shot)");
}

}  // namespace
