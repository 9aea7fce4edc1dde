#include "vmx/capabilities.hpp"

#include "tests/unit/vmx_fixtures.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

using namespace vmx;
using namespace vmx::fixtures;

namespace {

constexpr uint64_t bit64(unsigned n) { return 1ull << n; }

std::string check(const CapabilityMsrs& m)
{
    char buffer[512];
    const char* message = check_requirements(m, decode(m), buffer, sizeof buffer);
    return message ? message : "";
}

// A stand-in for RDMSR that fails the test on a capability MSR the processor does not have.
struct FakeCpu {
    const CapabilityMsrs& truth;
    bool exists[msr::last - msr::first + 1];
    int reads = 0;

    uint64_t rdmsr(uint32_t index)
    {
        EXPECT_TRUE(exists[index - msr::first]) << "#GP: MSR 0x" << std::hex << index;
        ++reads;
        const CapabilityMsrs& copy = truth;
        uint64_t value = 0;
        switch (index) {
        case msr::basic: value = copy.basic; break;
        case msr::pinbased_ctls: value = copy.pinbased_ctls; break;
        case msr::procbased_ctls: value = copy.procbased_ctls; break;
        case msr::exit_ctls: value = copy.exit_ctls; break;
        case msr::entry_ctls: value = copy.entry_ctls; break;
        case msr::misc: value = copy.misc; break;
        case msr::cr0_fixed0: value = copy.cr0_fixed0; break;
        case msr::cr0_fixed1: value = copy.cr0_fixed1; break;
        case msr::cr4_fixed0: value = copy.cr4_fixed0; break;
        case msr::cr4_fixed1: value = copy.cr4_fixed1; break;
        case msr::vmcs_enum: value = copy.vmcs_enum; break;
        case msr::procbased_ctls2: value = copy.procbased_ctls2; break;
        case msr::ept_vpid_cap: value = copy.ept_vpid_cap; break;
        case msr::true_pinbased_ctls: value = copy.true_pinbased_ctls; break;
        case msr::true_procbased_ctls: value = copy.true_procbased_ctls; break;
        case msr::true_exit_ctls: value = copy.true_exit_ctls; break;
        case msr::true_entry_ctls: value = copy.true_entry_ctls; break;
        case msr::vmfunc: value = copy.vmfunc; break;
        }
        return value;
    }
};

CapabilityMsrs read_like_hardware(FakeCpu& cpu)
{
    CapabilityMsrs m{};
    for (uint32_t index = msr::first; index <= msr::last; ++index)
        if (msr_exists(m, index)) {
            EXPECT_TRUE(store_msr(m, index, cpu.rdmsr(index)));
        }
    return m;
}

bool same(const CapabilityMsrs& a, const CapabilityMsrs& b) { return std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

// ---- MSR numbers and existence ------------------------------------------------------------------

TEST(CapabilityMsrNumbers, MatchTheSdm)
{
    EXPECT_EQ(msr::basic, 0x480u);
    EXPECT_EQ(msr::pinbased_ctls, 0x481u);
    EXPECT_EQ(msr::procbased_ctls, 0x482u);
    EXPECT_EQ(msr::exit_ctls, 0x483u);
    EXPECT_EQ(msr::entry_ctls, 0x484u);
    EXPECT_EQ(msr::misc, 0x485u);
    EXPECT_EQ(msr::cr0_fixed0, 0x486u);
    EXPECT_EQ(msr::cr0_fixed1, 0x487u);
    EXPECT_EQ(msr::cr4_fixed0, 0x488u);
    EXPECT_EQ(msr::cr4_fixed1, 0x489u);
    EXPECT_EQ(msr::vmcs_enum, 0x48au);
    EXPECT_EQ(msr::procbased_ctls2, 0x48bu);
    EXPECT_EQ(msr::ept_vpid_cap, 0x48cu);
    EXPECT_EQ(msr::true_pinbased_ctls, 0x48du);
    EXPECT_EQ(msr::true_procbased_ctls, 0x48eu);
    EXPECT_EQ(msr::true_exit_ctls, 0x48fu);
    EXPECT_EQ(msr::true_entry_ctls, 0x490u);
    EXPECT_EQ(msr::vmfunc, 0x491u);
}

TEST(CapabilityExistence, BroadwellHasEveryMsr)
{
    EXPECT_TRUE(has_procbased_ctls2(broadwell));
    EXPECT_TRUE(has_ept_vpid_cap(broadwell));
    EXPECT_TRUE(has_true_controls(broadwell));
    EXPECT_TRUE(has_vmfunc(broadwell));
    for (uint32_t index = msr::first; index <= msr::last; ++index) EXPECT_TRUE(msr_exists(broadwell, index)) << index;
}

TEST(CapabilityExistence, PenrynHasSecondaryControlsOnly)
{
    EXPECT_TRUE(has_procbased_ctls2(penryn));
    EXPECT_FALSE(has_ept_vpid_cap(penryn));
    EXPECT_FALSE(has_true_controls(penryn));
    EXPECT_FALSE(has_vmfunc(penryn));
    for (uint32_t index = msr::basic; index <= msr::procbased_ctls2; ++index) EXPECT_TRUE(msr_exists(penryn, index));
    for (uint32_t index = msr::ept_vpid_cap; index <= msr::vmfunc; ++index) EXPECT_FALSE(msr_exists(penryn, index));
}

TEST(CapabilityExistence, MeromHasOnlyTheBaseMsrs)
{
    EXPECT_FALSE(has_procbased_ctls2(merom));
    for (uint32_t index = msr::basic; index <= msr::vmcs_enum; ++index) EXPECT_TRUE(msr_exists(merom, index));
    for (uint32_t index = msr::procbased_ctls2; index <= msr::vmfunc; ++index) EXPECT_FALSE(msr_exists(merom, index));
}

TEST(CapabilityExistence, EptVpidCapNeedsEptOrVpid)
{
    CapabilityMsrs m = broadwell;
    m.procbased_ctls2 &= ~(bit64(32 + 1) | bit64(32 + 5));
    EXPECT_FALSE(msr_exists(m, msr::ept_vpid_cap));
    m.procbased_ctls2 = broadwell.procbased_ctls2 & ~bit64(32 + 1);  // VPID alone
    EXPECT_TRUE(msr_exists(m, msr::ept_vpid_cap));
    m.procbased_ctls2 = broadwell.procbased_ctls2 & ~bit64(32 + 5);  // EPT alone
    EXPECT_TRUE(msr_exists(m, msr::ept_vpid_cap));
}

TEST(CapabilityExistence, SecondaryBitsAreIgnoredWithoutTheActivateControl)
{
    // A stale PROCBASED_CTLS2 value must not make EPT_VPID_CAP or VMFUNC look present.
    CapabilityMsrs m = broadwell;
    m.procbased_ctls &= ~bit64(63);
    EXPECT_FALSE(msr_exists(m, msr::procbased_ctls2));
    EXPECT_FALSE(msr_exists(m, msr::ept_vpid_cap));
    EXPECT_FALSE(msr_exists(m, msr::vmfunc));
    EXPECT_EQ(control_capability(m, ControlKind::procbased2), 0u);
}

TEST(CapabilityExistence, VmfuncNeedsTheEnableVmFunctionsControl)
{
    CapabilityMsrs m = broadwell;
    m.procbased_ctls2 &= ~bit64(32 + 13);
    EXPECT_FALSE(msr_exists(m, msr::vmfunc));
    EXPECT_TRUE(msr_exists(m, msr::ept_vpid_cap));
}

TEST(CapabilityExistence, TrueMsrsFollowBasicBit55)
{
    CapabilityMsrs m = broadwell;
    m.basic &= ~bit64(55);
    for (uint32_t index = msr::true_pinbased_ctls; index <= msr::true_entry_ctls; ++index)
        EXPECT_FALSE(msr_exists(m, index));
    EXPECT_TRUE(msr_exists(m, msr::vmfunc));
}

TEST(CapabilityExistence, IndicesOutsideTheRange)
{
    EXPECT_FALSE(msr_exists(broadwell, 0x47f));
    EXPECT_FALSE(msr_exists(broadwell, 0x492));
    EXPECT_FALSE(msr_exists(broadwell, 0));
    CapabilityMsrs m{};
    EXPECT_FALSE(store_msr(m, 0x492, 1));
    EXPECT_FALSE(store_msr(m, 0x47f, 1));
    EXPECT_TRUE(same(m, CapabilityMsrs{}));
}

TEST(CapabilityExistence, AscendingReadTouchesOnlyPresentMsrs)
{
    struct Case {
        const CapabilityMsrs* truth;
        int expected_reads;
    };
    for (Case c : {Case{&broadwell, 18}, Case{&skylake, 18}, Case{&penryn, 12}, Case{&merom, 11}}) {
        FakeCpu cpu{*c.truth, {}};
        for (uint32_t index = msr::first; index <= msr::last; ++index)
            cpu.exists[index - msr::first] = msr_exists(*c.truth, index);
        CapabilityMsrs read = read_like_hardware(cpu);
        EXPECT_EQ(cpu.reads, c.expected_reads);
        EXPECT_TRUE(same(read, *c.truth));
    }
}

// ---- compute_control ----------------------------------------------------------------------------

static_assert(compute_control(0x0000007f00000016, 0, 0).value == 0x16);
static_assert(compute_control(0x0000007f00000016, 0x80, 0).missing == 0x80);

TEST(ComputeControl, DefaultOneBitsAreForced)
{
    ControlWord w = compute_control(broadwell.pinbased_ctls, 0, 0);
    EXPECT_EQ(w.value, 0x16u);
    EXPECT_EQ(w.missing, 0u);
    EXPECT_TRUE(w.ok());
}

TEST(ComputeControl, SupportedBitsAreSet)
{
    ControlWord w = compute_control(broadwell.pinbased_ctls, pin::external_interrupt_exiting, pin::preemption_timer);
    EXPECT_EQ(w.value, 0x57u);
    EXPECT_EQ(w.missing, 0u);
}

TEST(ComputeControl, UnsupportedOptionalBitIsDropped)
{
    // Penryn has no VMX-preemption timer (PINBASED_CTLS bit 38 is 0).
    ControlWord w = compute_control(penryn.pinbased_ctls, pin::external_interrupt_exiting, pin::preemption_timer);
    EXPECT_EQ(w.value, 0x17u);
    EXPECT_TRUE(w.ok());
}

TEST(ComputeControl, UnsupportedRequiredBitIsReported)
{
    ControlWord w = compute_control(penryn.exit_ctls, exit::host_address_space_size | exit::load_ia32_efer, 0);
    EXPECT_EQ(w.value, 0x36fffu);  // default1 bits plus host address-space size (bit 9)
    EXPECT_EQ(w.missing, exit::load_ia32_efer);
    EXPECT_FALSE(w.ok());
}

TEST(ComputeControl, NothingCanBeSetInAnAbsentMsr)
{
    ControlWord w = compute_control(0, proc2::enable_ept, proc2::enable_vpid);
    EXPECT_EQ(w.value, 0u);
    EXPECT_EQ(w.missing, proc2::enable_ept);
}

// ---- compute_controls ---------------------------------------------------------------------------

TEST(ComputeControls, DefaultOneClassesMatchTheNonTrueMsrs)
{
    for (const CapabilityMsrs* m : {&broadwell, &skylake, &penryn, &merom}) {
        EXPECT_EQ(uint32_t(m->pinbased_ctls), pin::default1);
        EXPECT_EQ(uint32_t(m->procbased_ctls), proc::default1);
        EXPECT_EQ(uint32_t(m->exit_ctls), exit::default1);
        EXPECT_EQ(uint32_t(m->entry_ctls), entry::default1);
    }
}

TEST(ComputeControls, Broadwell)
{
    Controls c = compute_controls(broadwell);
    EXPECT_TRUE(c.ok());
    EXPECT_EQ(c.pin.value, 0x0000007fu);    // external interrupts, NMIs, virtual NMIs, preemption timer, default1
    EXPECT_EQ(c.proc.value, 0xb6186dfau);   // CR3-load/store exiting cleared through the TRUE MSR
    EXPECT_EQ(c.proc2.value, 0x000014eau);  // EPT, RDTSCP, VPID, WBINVD exiting, UG, PLE, INVPCID; no XSAVES
    EXPECT_EQ(c.exit.value, 0x003fefffu);
    EXPECT_EQ(c.entry.value, 0x0000d1ffu);
}

TEST(ComputeControls, SkylakeKeepsXsaves)
{
    Controls c = compute_controls(skylake);
    EXPECT_TRUE(c.ok());
    EXPECT_EQ(c.proc2.value, 0x001014eau);
    EXPECT_EQ(c.proc2.value & proc2::enable_xsaves, proc2::enable_xsaves);
}

TEST(ComputeControls, WithoutTrueMsrsDefaultOneBitsStay)
{
    CapabilityMsrs m = broadwell;
    m.basic &= ~bit64(55);
    EXPECT_EQ(control_capability(m, ControlKind::procbased), broadwell.procbased_ctls);
    EXPECT_STREQ(control_capability_name(m, ControlKind::procbased), "IA32_VMX_PROCBASED_CTLS");
    Controls c = compute_controls(m);
    EXPECT_TRUE(c.ok());
    EXPECT_EQ(c.proc.value, 0xb619edfau);
    EXPECT_EQ(c.proc.value & (proc::cr3_load_exiting | proc::cr3_store_exiting),
              proc::cr3_load_exiting | proc::cr3_store_exiting);
}

TEST(ComputeControls, TrueMsrSelection)
{
    EXPECT_EQ(control_capability(broadwell, ControlKind::pinbased), broadwell.true_pinbased_ctls);
    EXPECT_EQ(control_capability(broadwell, ControlKind::procbased), broadwell.true_procbased_ctls);
    EXPECT_EQ(control_capability(broadwell, ControlKind::procbased2), broadwell.procbased_ctls2);
    EXPECT_EQ(control_capability(broadwell, ControlKind::exit), broadwell.true_exit_ctls);
    EXPECT_EQ(control_capability(broadwell, ControlKind::entry), broadwell.true_entry_ctls);
    EXPECT_STREQ(control_capability_name(broadwell, ControlKind::pinbased), "IA32_VMX_TRUE_PINBASED_CTLS");
    EXPECT_STREQ(control_capability_name(broadwell, ControlKind::procbased), "IA32_VMX_TRUE_PROCBASED_CTLS");
    EXPECT_STREQ(control_capability_name(broadwell, ControlKind::procbased2), "IA32_VMX_PROCBASED_CTLS2");
    EXPECT_STREQ(control_capability_name(broadwell, ControlKind::exit), "IA32_VMX_TRUE_EXIT_CTLS");
    EXPECT_STREQ(control_capability_name(broadwell, ControlKind::entry), "IA32_VMX_TRUE_ENTRY_CTLS");
    EXPECT_EQ(control_capability(penryn, ControlKind::pinbased), penryn.pinbased_ctls);
    EXPECT_EQ(control_capability(penryn, ControlKind::exit), penryn.exit_ctls);
    EXPECT_STREQ(control_capability_name(penryn, ControlKind::entry), "IA32_VMX_ENTRY_CTLS");
}

TEST(ComputeControls, UnnamedDefaultOneBitsStayOneUnlessCleared)
{
    // The TRUE MSRs allow clearing "save/load debug controls"; Matryoshka does not ask to.
    Controls c = compute_controls(broadwell);
    EXPECT_EQ(c.exit.value & exit::save_debug_controls, exit::save_debug_controls);
    EXPECT_EQ(c.entry.value & entry::load_debug_controls, entry::load_debug_controls);

    ControlRequests r = matryoshka_controls;
    r.exit.cleared = exit::save_debug_controls;
    r.entry.cleared = entry::load_debug_controls;
    c = compute_controls(broadwell, r);
    EXPECT_EQ(c.exit.value, 0x003feffbu);
    EXPECT_EQ(c.entry.value, 0x0000d1fbu);

    CapabilityMsrs m = broadwell;  // without TRUE MSRs, a request to clear is not honoured
    m.basic &= ~bit64(55);
    c = compute_controls(m, r);
    EXPECT_EQ(c.exit.value, 0x003fefffu);
    EXPECT_EQ(c.entry.value, 0x0000d1ffu);
}

TEST(ComputeControls, Penryn)
{
    Controls c = compute_controls(penryn);
    EXPECT_FALSE(c.ok());
    EXPECT_EQ(c.pin.value, 0x3fu);  // no preemption timer on Penryn
    EXPECT_EQ(c.pin.missing, 0u);
    EXPECT_EQ(c.proc.value, 0xb619edfau);
    EXPECT_EQ(c.proc.missing, 0u);
    EXPECT_EQ(c.proc2.value, proc2::wbinvd_exiting);
    EXPECT_EQ(c.proc2.missing, proc2::enable_ept);
    EXPECT_EQ(c.exit.value, 0x3efffu);
    EXPECT_EQ(c.exit.missing,
              exit::save_ia32_efer | exit::load_ia32_efer | exit::save_ia32_pat | exit::load_ia32_pat);
    EXPECT_EQ(c.entry.value, 0x11ffu);
    EXPECT_EQ(c.entry.missing, entry::load_ia32_efer | entry::load_ia32_pat);
}

TEST(ComputeControls, MeromCannotActivateSecondaryControls)
{
    Controls c = compute_controls(merom);
    EXPECT_EQ(c.proc.missing, proc::activate_secondary);
    EXPECT_EQ(c.proc.value, 0x3619edfau);
    EXPECT_EQ(c.proc2.value, 0u);
    EXPECT_EQ(c.proc2.missing, proc2::enable_ept);
}

TEST(ComputeControls, VpidNeedsInvvpid)
{
    CapabilityMsrs m = broadwell;
    m.ept_vpid_cap &= ~bit64(32);
    EXPECT_EQ(compute_controls(m).proc2.value, 0x14cau);

    m = broadwell;  // INVVPID with only the individual-address type is not enough
    m.ept_vpid_cap &= ~(bit64(41) | bit64(42) | bit64(43));
    EXPECT_EQ(compute_controls(m).proc2.value, 0x14cau);

    m = broadwell;
    m.ept_vpid_cap &= ~bit64(41);  // all-context alone will do
    EXPECT_EQ(compute_controls(m).proc2.value, 0x14eau);
}

TEST(ComputeControls, VirtualNmisNeedNmiExiting)
{
    ControlRequests r = matryoshka_controls;
    r.pin = {pin::external_interrupt_exiting, pin::virtual_nmis, 0};
    EXPECT_EQ(compute_controls(broadwell, r).pin.value, 0x17u);
    r.pin.optional = pin::virtual_nmis | pin::nmi_exiting;
    EXPECT_EQ(compute_controls(broadwell, r).pin.value, 0x3fu);
}

TEST(ComputeControls, SavingThePreemptionTimerNeedsTheTimer)
{
    ControlRequests r = matryoshka_controls;
    r.pin = {pin::external_interrupt_exiting, pin::preemption_timer, 0};
    r.exit = {exit::host_address_space_size | exit::save_ia32_efer | exit::load_ia32_efer,
              exit::save_preemption_timer, 0};
    EXPECT_EQ(compute_controls(broadwell, r).exit.value, 0x736fffu);
    CapabilityMsrs m = broadwell;
    m.true_pinbased_ctls &= ~bit64(32 + 6);
    Controls c = compute_controls(m, r);
    EXPECT_EQ(c.pin.value, 0x17u);
    EXPECT_EQ(c.exit.value, 0x336fffu);
}

// ---- decode -------------------------------------------------------------------------------------

TEST(Decode, Broadwell)
{
    Features f = decode(broadwell);
    EXPECT_EQ(f.revision, 0x12u);
    EXPECT_EQ(f.vmcs_size, 1024u);
    EXPECT_FALSE(f.physical_address_width_32);
    EXPECT_TRUE(f.dual_monitor);
    EXPECT_EQ(f.vmcs_memory_type, 6);
    EXPECT_TRUE(f.vmcs_wb);
    EXPECT_TRUE(f.ins_outs_exit_info);
    EXPECT_TRUE(f.true_controls);

    EXPECT_TRUE(f.secondary_controls);
    EXPECT_TRUE(f.ept);
    EXPECT_TRUE(f.unrestricted_guest);
    EXPECT_TRUE(f.vpid);
    EXPECT_TRUE(f.ple);
    EXPECT_TRUE(f.preemption_timer);
    EXPECT_TRUE(f.rdtscp);
    EXPECT_TRUE(f.invpcid);
    EXPECT_FALSE(f.xsaves);
    EXPECT_TRUE(f.vmfunc);
    EXPECT_TRUE(f.vmcs_shadowing);
    EXPECT_FALSE(f.pml);
    EXPECT_TRUE(f.monitor_trap_flag);
    EXPECT_TRUE(f.tpr_shadow);
    EXPECT_TRUE(f.virtualize_apic_accesses);
    EXPECT_TRUE(f.virtualize_x2apic_mode);
    EXPECT_FALSE(f.apic_register_virtualization);
    EXPECT_FALSE(f.virtual_interrupt_delivery);
    EXPECT_FALSE(f.posted_interrupts);
    EXPECT_TRUE(f.load_efer);
    EXPECT_TRUE(f.load_pat);

    EXPECT_TRUE(f.ept_execute_only);
    EXPECT_TRUE(f.ept_4level);
    EXPECT_TRUE(f.ept_uc);
    EXPECT_TRUE(f.ept_wb);
    EXPECT_TRUE(f.ept_2m);
    EXPECT_TRUE(f.ept_1g);
    EXPECT_TRUE(f.ept_ad);
    EXPECT_TRUE(f.invept);
    EXPECT_TRUE(f.invept_single);
    EXPECT_TRUE(f.invept_all);
    EXPECT_TRUE(f.invvpid);
    EXPECT_TRUE(f.invvpid_address);
    EXPECT_TRUE(f.invvpid_single);
    EXPECT_TRUE(f.invvpid_all);
    EXPECT_TRUE(f.invvpid_single_keep_globals);

    EXPECT_EQ(f.preemption_timer_shift, 5);
    EXPECT_TRUE(f.exit_stores_lma);
    EXPECT_TRUE(f.activity_hlt);
    EXPECT_TRUE(f.activity_shutdown);
    EXPECT_TRUE(f.activity_wait_for_sipi);
    EXPECT_EQ(f.cr3_target_count, 4u);
    EXPECT_EQ(f.msr_list_max, 512u);
    EXPECT_TRUE(f.vmwrite_any_field);
    EXPECT_EQ(f.vmcs_max_field_index, 0x15u);
    EXPECT_TRUE(f.eptp_switching);
}

TEST(Decode, Skylake)
{
    Features f = decode(skylake);
    EXPECT_EQ(f.revision, 4u);
    EXPECT_EQ(f.vmcs_size, 1024u);
    EXPECT_EQ(f.preemption_timer_shift, 7);
    EXPECT_TRUE(f.xsaves);
    EXPECT_TRUE(f.pml);
    EXPECT_EQ(f.vmcs_max_field_index, 0x17u);
    EXPECT_EQ(f.msr_list_max, 512u);
}

TEST(Decode, Penryn)
{
    Features f = decode(penryn);
    EXPECT_EQ(f.revision, 0xdu);
    EXPECT_EQ(f.vmcs_size, 2048u);
    EXPECT_TRUE(f.vmcs_wb);
    EXPECT_FALSE(f.true_controls);
    EXPECT_TRUE(f.secondary_controls);
    EXPECT_TRUE(f.virtualize_apic_accesses);
    EXPECT_TRUE(f.tpr_shadow);
    EXPECT_FALSE(f.ept);
    EXPECT_FALSE(f.vpid);
    EXPECT_FALSE(f.unrestricted_guest);
    EXPECT_FALSE(f.ept_4level);
    EXPECT_FALSE(f.invept);
    EXPECT_FALSE(f.invvpid);
    EXPECT_FALSE(f.preemption_timer);
    EXPECT_EQ(f.preemption_timer_shift, 0);
    EXPECT_FALSE(f.exit_stores_lma);
    EXPECT_TRUE(f.activity_hlt);
    EXPECT_FALSE(f.load_efer);
    EXPECT_FALSE(f.load_pat);
    EXPECT_FALSE(f.vmfunc);
    EXPECT_FALSE(f.eptp_switching);
    EXPECT_EQ(f.cr3_target_count, 4u);
    EXPECT_EQ(f.vmcs_max_field_index, 0x16u);
}

TEST(Decode, Merom)
{
    Features f = decode(merom);
    EXPECT_EQ(f.revision, 7u);
    EXPECT_EQ(f.vmcs_size, 1024u);
    EXPECT_TRUE(f.dual_monitor);
    EXPECT_EQ(f.vmcs_memory_type, 6);
    EXPECT_FALSE(f.ins_outs_exit_info);
    EXPECT_FALSE(f.true_controls);
    EXPECT_FALSE(f.secondary_controls);
    EXPECT_FALSE(f.virtualize_apic_accesses);
    EXPECT_FALSE(f.ept);
    EXPECT_TRUE(f.tpr_shadow);
}

TEST(Decode, EptPageSizes)
{
    CapabilityMsrs m = broadwell;
    m.ept_vpid_cap &= ~bit64(17);
    Features f = decode(m);
    EXPECT_TRUE(f.ept_2m);
    EXPECT_FALSE(f.ept_1g);
    m.ept_vpid_cap &= ~bit64(16);
    f = decode(m);
    EXPECT_FALSE(f.ept_2m);
    EXPECT_FALSE(f.ept_1g);
}

TEST(Decode, EptVpidCapIgnoredWhenAbsent)
{
    CapabilityMsrs m = penryn;
    m.ept_vpid_cap = broadwell.ept_vpid_cap;  // garbage the reader should never have stored
    Features f = decode(m);
    EXPECT_FALSE(f.ept_4level);
    EXPECT_FALSE(f.invept);
    EXPECT_FALSE(f.invvpid);
}

TEST(Decode, VpidWithoutEpt)
{
    CapabilityMsrs m = broadwell;
    m.procbased_ctls2 &= ~bit64(32 + 1);
    Features f = decode(m);
    EXPECT_FALSE(f.ept);
    EXPECT_TRUE(f.vpid);
    EXPECT_TRUE(f.invvpid_single);
}

TEST(Decode, MsrListMaximum)
{
    CapabilityMsrs m = broadwell;
    m.misc = (broadwell.misc & ~(7ull << 25)) | (3ull << 25);
    EXPECT_EQ(decode(m).msr_list_max, 2048u);
    m.misc |= 7ull << 25;
    EXPECT_EQ(decode(m).msr_list_max, 4096u);
}

TEST(Decode, PreemptionTimerShiftUsesFiveBits)
{
    CapabilityMsrs m = broadwell;
    m.misc = (broadwell.misc & ~0x1full) | 0x1f;
    EXPECT_EQ(decode(m).preemption_timer_shift, 31);
    EXPECT_TRUE(decode(m).exit_stores_lma);  // bit 5 untouched
}

TEST(Decode, ApicVirtualization)
{
    CapabilityMsrs m = skylake;  // as a server part with APICv would report it
    m.procbased_ctls2 |= bit64(32 + 8) | bit64(32 + 9);
    m.pinbased_ctls |= bit64(32 + 7);
    m.true_pinbased_ctls |= bit64(32 + 7);
    Features f = decode(m);
    EXPECT_TRUE(f.apic_register_virtualization);
    EXPECT_TRUE(f.virtual_interrupt_delivery);
    EXPECT_TRUE(f.posted_interrupts);
}

TEST(Decode, Basic32BitAddressesAndMemoryType)
{
    CapabilityMsrs m = broadwell;
    m.basic = (broadwell.basic | bit64(48)) & ~(0xfull << 50);
    Features f = decode(m);
    EXPECT_TRUE(f.physical_address_width_32);
    EXPECT_EQ(f.vmcs_memory_type, 0);
    EXPECT_FALSE(f.vmcs_wb);
}

// ---- check_requirements -------------------------------------------------------------------------

TEST(Requirements, ModernProcessorsPass)
{
    EXPECT_EQ(check_requirements(broadwell, decode(broadwell), nullptr, 0), nullptr);
    EXPECT_EQ(check_requirements(skylake, decode(skylake), nullptr, 0), nullptr);
}

TEST(Requirements, Penryn)
{
    EXPECT_EQ(check(penryn), "EPT is not supported (IA32_VMX_PROCBASED_CTLS2 allowed-1 bit 1)");
}

TEST(Requirements, Merom)
{
    EXPECT_EQ(check(merom),
              "secondary processor-based controls are not supported (IA32_VMX_PROCBASED_CTLS allowed-1 bit 31)");
}

TEST(Requirements, ThirtyTwoBitAddresses)
{
    CapabilityMsrs m = broadwell;
    m.basic |= bit64(48);
    EXPECT_EQ(check(m), "VMX structures are limited to 32-bit physical addresses (IA32_VMX_BASIC bit 48)");
}

TEST(Requirements, VmcsSize)
{
    CapabilityMsrs m = broadwell;
    m.basic = (broadwell.basic & ~(0x1fffull << 32)) | (0x1001ull << 32);
    EXPECT_EQ(check(m), "the VMCS region size is not between 1 and 4096 bytes (IA32_VMX_BASIC bits 44:32)");
    m.basic = (broadwell.basic & ~(0x1fffull << 32)) | (0x1000ull << 32);
    EXPECT_EQ(check(m), "");
}

TEST(Requirements, VmcsMemoryType)
{
    CapabilityMsrs m = broadwell;
    m.basic &= ~(0xfull << 50);  // uncacheable
    EXPECT_EQ(check(m), "VMCS memory type is not write-back (IA32_VMX_BASIC bits 53:50)");
}

TEST(Requirements, Ept)
{
    CapabilityMsrs m = broadwell;
    m.procbased_ctls2 &= ~bit64(32 + 1);
    EXPECT_EQ(check(m), "EPT is not supported (IA32_VMX_PROCBASED_CTLS2 allowed-1 bit 1)");
}

TEST(Requirements, EptFourLevelWalk)
{
    CapabilityMsrs m = broadwell;
    m.ept_vpid_cap &= ~bit64(6);
    EXPECT_EQ(check(m), "EPT 4-level page walks are not supported (IA32_VMX_EPT_VPID_CAP bit 6)");
}

TEST(Requirements, EptWriteBack)
{
    CapabilityMsrs m = broadwell;
    m.ept_vpid_cap &= ~bit64(14);
    EXPECT_EQ(check(m), "EPT write-back memory type is not supported (IA32_VMX_EPT_VPID_CAP bit 14)");
}

TEST(Requirements, Invept)
{
    CapabilityMsrs m = broadwell;
    m.ept_vpid_cap &= ~bit64(20);
    EXPECT_EQ(check(m), "INVEPT is not supported (IA32_VMX_EPT_VPID_CAP bit 20)");
}

TEST(Requirements, InveptTypes)
{
    CapabilityMsrs m = broadwell;
    m.ept_vpid_cap &= ~(bit64(25) | bit64(26));
    EXPECT_EQ(check(m),
              "neither single-context nor all-context INVEPT is supported (IA32_VMX_EPT_VPID_CAP bits 25, 26)");
    m.ept_vpid_cap |= bit64(26);
    EXPECT_EQ(check(m), "");
}

// Optional: without it VMX root still comes up and each VM is refused on its own (vmx/vm.cpp).
TEST(Requirements, UnrestrictedGuestIsOptional)
{
    CapabilityMsrs m = broadwell;
    m.procbased_ctls2 &= ~bit64(32 + 7);
    EXPECT_EQ(check(m), "");
    EXPECT_FALSE(decode(m).unrestricted_guest);
    EXPECT_EQ(compute_controls(m).proc2.value & proc2::unrestricted_guest, 0u);
    EXPECT_EQ(compute_controls(broadwell).proc2.value & proc2::unrestricted_guest, proc2::unrestricted_guest);
}

// Optional too, and the operator may leave it out (vpid=off): the rest stays.
TEST(ComputeControls, VpidCanBeLeftOut)
{
    ControlRequests requests = matryoshka_controls;
    requests.proc2.optional &= ~proc2::enable_vpid;
    Controls c = compute_controls(broadwell, requests);
    EXPECT_TRUE(c.ok());
    EXPECT_EQ(c.proc2.value, compute_controls(broadwell).proc2.value & ~proc2::enable_vpid);
}

TEST(Requirements, MissingControlsAreListed)
{
    CapabilityMsrs m = broadwell;
    m.true_exit_ctls &= ~(bit64(32 + 20) | bit64(32 + 21));
    m.exit_ctls &= ~(bit64(32 + 20) | bit64(32 + 21));
    EXPECT_EQ(check(m), "the required VMX controls cannot be set: save IA32_EFER (IA32_VMX_TRUE_EXIT_CTLS allowed-1 "
                        "bit 20), load IA32_EFER (IA32_VMX_TRUE_EXIT_CTLS allowed-1 bit 21)");
}

TEST(Requirements, MissingControlsAcrossWords)
{
    CapabilityMsrs m = broadwell;
    m.basic &= ~bit64(55);  // name the non-TRUE MSRs
    m.pinbased_ctls &= ~bit64(32 + 0);
    m.procbased_ctls &= ~bit64(32 + 7);
    m.entry_ctls &= ~(bit64(32 + 9) | bit64(32 + 15));
    EXPECT_EQ(check(m), "the required VMX controls cannot be set: external-interrupt exiting "
                        "(IA32_VMX_PINBASED_CTLS allowed-1 bit 0), HLT exiting (IA32_VMX_PROCBASED_CTLS allowed-1 "
                        "bit 7), IA-32e mode guest (IA32_VMX_ENTRY_CTLS allowed-1 bit 9), load IA32_EFER "
                        "(IA32_VMX_ENTRY_CTLS allowed-1 bit 15)");
}

TEST(Requirements, Ia32eModeGuestIsRequiredButNotSet)
{
    EXPECT_EQ(compute_controls(broadwell).entry.value & entry::ia32e_mode_guest, 0u);
    CapabilityMsrs m = broadwell;
    m.true_entry_ctls &= ~bit64(32 + 9);
    EXPECT_EQ(check(m),
              "the required VMX controls cannot be set: IA-32e mode guest (IA32_VMX_TRUE_ENTRY_CTLS allowed-1 bit 9)");
}

TEST(Requirements, MessageIsTruncatedToTheBuffer)
{
    CapabilityMsrs m = broadwell;
    m.true_exit_ctls &= ~bit64(32 + 21);
    char buffer[16];
    std::memset(buffer, 'x', sizeof buffer);
    const char* message = check_requirements(m, decode(m), buffer, sizeof buffer);
    EXPECT_EQ(message, buffer);
    EXPECT_STREQ(message, "the required VM");

    char one[1] = {'x'};
    EXPECT_STREQ(check_requirements(m, decode(m), one, 1), "");
    EXPECT_STREQ(check_requirements(m, decode(m), nullptr, 0), "the required VMX controls cannot be set");
}

// ---- CR0/CR4 fixed bits -------------------------------------------------------------------------

TEST(FixedBits, ApplyFixed)
{
    // ET alone gains PE, NE and PG.
    EXPECT_EQ(apply_fixed(0x10, broadwell.cr0_fixed0, broadwell.cr0_fixed1), 0x80000031u);
    // PAE gains VMXE; PKE (bit 22) is dropped, Broadwell does not allow it.
    EXPECT_EQ(apply_fixed(0x400020, broadwell.cr4_fixed0, broadwell.cr4_fixed1), 0x2020u);
    // SMXE (bit 14) is allowed on the i7-5600U but not on the i7-6700K.
    EXPECT_EQ(apply_fixed(0x4020, broadwell.cr4_fixed0, broadwell.cr4_fixed1), 0x6020u);
    EXPECT_EQ(apply_fixed(0x4020, skylake.cr4_fixed0, skylake.cr4_fixed1), 0x2020u);
    static_assert(apply_fixed(0, 0x2000, 0x27ff) == 0x2000);
}

TEST(FixedBits, HostCr0AndCr4)
{
    EXPECT_TRUE(cr0_valid(broadwell, 0x80000031));
    EXPECT_TRUE(cr0_valid(broadwell, 0x80050033));  // with WP, AM and MP
    EXPECT_FALSE(cr0_valid(broadwell, 0x80000011));  // NE clear
    EXPECT_FALSE(cr0_valid(broadwell, 0x00000031));  // PG clear
    EXPECT_FALSE(cr0_valid(broadwell, 0x180000031));  // bit 32 outside FIXED1
    EXPECT_TRUE(cr4_valid(broadwell, 0x2020));
    EXPECT_FALSE(cr4_valid(broadwell, 0x20));        // VMXE clear
    EXPECT_FALSE(cr4_valid(broadwell, 0x402020));    // PKE
    EXPECT_FALSE(cr4_valid(penryn, 0x12020));        // FSGSBASE not allowed on Penryn
    EXPECT_TRUE(cr4_valid(broadwell, 0x12020));
}

TEST(FixedBits, GuestCr0WithUnrestrictedGuest)
{
    // Real mode with NE: valid only with unrestricted guest.
    EXPECT_TRUE(guest_cr0_valid(broadwell, 0x30, true));
    EXPECT_FALSE(guest_cr0_valid(broadwell, 0x30, false));
    // NE is still fixed to 1.
    EXPECT_FALSE(guest_cr0_valid(broadwell, 0x10, true));
    // Protected mode without paging.
    EXPECT_TRUE(guest_cr0_valid(broadwell, 0x31, true));
    EXPECT_FALSE(guest_cr0_valid(broadwell, 0x31, false));
    // PG without PE is never valid.
    EXPECT_FALSE(guest_cr0_valid(broadwell, 0x80000030, true));
    // Paged protected mode is valid either way.
    EXPECT_TRUE(guest_cr0_valid(broadwell, 0x80000031, false));
    EXPECT_TRUE(guest_cr0_valid(broadwell, 0x80000031, true));

    EXPECT_EQ(guest_cr0_fixed0(broadwell, true), 0x20u);
    EXPECT_EQ(guest_cr0_fixed0(broadwell, false), 0x80000021u);
    EXPECT_EQ(apply_fixed(0x10, guest_cr0_fixed0(broadwell, true), broadwell.cr0_fixed1), 0x30u);
}

TEST(FixedBits, GuestCr0IgnoresCacheDisableBits)
{
    CapabilityMsrs m = broadwell;
    m.cr0_fixed1 = 0x9fffffff;  // a hypothetical FIXED1 forbidding CD and NW
    m.cr0_fixed0 = 0xe0000021;  // ... or one forcing them
    EXPECT_FALSE(cr0_valid(m, 0x80000031));
    EXPECT_TRUE(guest_cr0_valid(m, 0x80000031, false));
    EXPECT_TRUE(guest_cr0_valid(m, 0xe0000031, false));
    EXPECT_EQ(guest_cr0_fixed0(m, false), 0x80000021u);
}

TEST(FeatureControl, NoVmxInCpuid)
{
    auto d = vmx::decide_feature_control(false, 0);
    EXPECT_STREQ(d.error, "this CPU does not support VT-x (CPUID.1:ECX.VMX is 0)");
    EXPECT_FALSE(d.write);
}

TEST(FeatureControl, UnlockedIsEnabledAndLocked)
{
    auto d = vmx::decide_feature_control(true, 0x2);  // SMX bit kept as firmware left it
    EXPECT_EQ(d.error, nullptr);
    EXPECT_TRUE(d.write);
    EXPECT_EQ(d.value, 0x7u);
}

TEST(FeatureControl, LockedOffIsRefusedPrecisely)
{
    for (uint64_t msr : {0x1ull, 0x3ull, 0xff01ull}) {
        auto d = vmx::decide_feature_control(true, msr);
        EXPECT_STREQ(d.error, "VT-x is disabled in firmware (IA32_FEATURE_CONTROL locked, VMX outside SMX off)");
        EXPECT_FALSE(d.write);
    }
}

TEST(FeatureControl, LockedOnIsLeftAlone)
{
    auto d = vmx::decide_feature_control(true, 0x5);
    EXPECT_EQ(d.error, nullptr);
    EXPECT_FALSE(d.write);
}
