#include "vmx/msr_policy.hpp"

#include <gtest/gtest.h>

#include "tests/unit/vmx_fixtures.hpp"
#include "vmx/control_registers.hpp"

using namespace vmx;
using namespace vmx::fixtures;
namespace m = vmx::guest_msr;

namespace {

CpuidView view() { return CpuidView{2, 0, 0, 0x14, 0x80000008, true, true}; }

CpuidRegs guest(uint32_t leaf, CpuidRegs host) { return guest_cpuid(leaf, 0, host, view()); }

// The guest CPUID of a 2-vCPU VM on the i7-5600U (no speculation-control MSRs in its microcode).
MsrConfig broadwell_config()
{
    return msr_config(guest(7, broadwell_host_cpuid(7, 0)), guest(0x80000001, broadwell_host_cpuid(0x80000001, 0)),
                      guest(0x80000008, broadwell_host_cpuid(0x80000008, 0)));
}

// The same with the 2019 microcode: IBRS/IBPB, STIBP, L1D_FLUSH, SSBD and MD_CLEAR in leaf 7 EDX.
MsrConfig updated_config()
{
    CpuidRegs leaf7 = broadwell_host_cpuid(7, 0);
    leaf7.edx = 0x9c000400;
    return msr_config(guest(7, leaf7), guest(0x80000001, broadwell_host_cpuid(0x80000001, 0)),
                      guest(0x80000008, broadwell_host_cpuid(0x80000008, 0)));
}

constexpr uint64_t now = 5000;

MsrResult rd(const GuestMsrState& s, uint32_t index) { return read_msr(s, index, now); }
MsrResult wr(GuestMsrState& s, uint32_t index, uint64_t value, uint64_t cr0 = 0x11)
{
    return write_msr(s, index, value, now, cr0);
}

bool is_gp(const MsrResult& r) { return r.action == MsrAction::gp; }

void expect_ok(const MsrResult& r, uint64_t value, MsrSync sync = MsrSync::none)
{
    EXPECT_EQ(r.action, MsrAction::ok);
    EXPECT_EQ(r.value, value);
    EXPECT_EQ(r.sync, sync);
}

}  // namespace

TEST(MsrConfig, FromTheGuestCpuid)
{
    MsrConfig c = broadwell_config();
    EXPECT_EQ(c.spec_ctrl_bits, 0u);
    EXPECT_FALSE(c.pred_cmd);
    EXPECT_TRUE(c.tsc_aux);
    EXPECT_TRUE(c.tsc_adjust);
    EXPECT_EQ(c.physical_address_bits, 39);
    EXPECT_EQ(c.linear_address_bits, 48);

    MsrConfig u = updated_config();
    EXPECT_EQ(u.spec_ctrl_bits, 0x7u);  // IBRS, STIBP, SSBD
    EXPECT_TRUE(u.pred_cmd);

    CpuidView no_rdtscp = view();
    no_rdtscp.rdtscp = false;
    MsrConfig n = msr_config(guest_cpuid(7, 0, broadwell_host_cpuid(7, 0), no_rdtscp),
                             guest_cpuid(0x80000001, 0, broadwell_host_cpuid(0x80000001, 0), no_rdtscp),
                             CpuidRegs{0x3027, 0, 0, 0});
    EXPECT_FALSE(n.tsc_aux);
    MsrConfig la57 = msr_config(CpuidRegs{0, 0, 1u << 16, 0}, CpuidRegs{}, CpuidRegs{0x3934, 0, 0, 0});
    EXPECT_EQ(la57.linear_address_bits, 57);
    EXPECT_EQ(la57.physical_address_bits, 52);
}

TEST(MsrPolicy, InitialState)
{
    GuestMsrState s = initial_msr_state(broadwell_config(), 0 - now);
    expect_ok(rd(s, m::pat), 0x0007040600070406);
    expect_ok(rd(s, m::efer), 0);
    expect_ok(rd(s, m::tsc), 0);  // the offset makes the guest's TSC start at 0
    expect_ok(rd(s, m::tsc_adjust), 0);
    expect_ok(rd(s, m::mtrr_cap), 0x508);
    expect_ok(rd(s, m::mtrr_def_type), 0x806);
    expect_ok(rd(s, m::misc_enable), 0x1801);
    expect_ok(rd(s, m::feature_control), 1);  // locked, VMX off
    expect_ok(rd(s, m::bios_sign_id), 0);
    expect_ok(rd(s, m::platform_id), 0);
    for (uint32_t index = 0x200; index <= 0x20f; ++index) expect_ok(rd(s, index), 0);
    for (uint32_t index : {0x250u, 0x258u, 0x259u, 0x268u, 0x26fu}) expect_ok(rd(s, index), 0);
}

TEST(MsrPolicy, UnlistedMsrsFault)
{
    GuestMsrState s = initial_msr_state(broadwell_config(), 0);
    // VMX capability MSRs (VMX is hidden), PLATFORM_INFO, perfmon, thermal, MCE, XSS, the
    // speculation MSRs this microcode lacks, FS/GS base (passed through, never trapped), and
    // indices next to the emulated ranges.
    const uint32_t indices[] = {0x480, 0x485, 0x48b, 0x491, 0xce,  0xc1,  0x186,      0x38f,      0x19c,
                                0x179, 0x17a, 0xda0, 0x48,  0x49,  0x10a, 0xc0000100, 0xc0000101, 0x7ff,
                                0x900, 0x1ff, 0x210, 0x24f, 0x251, 0x25a, 0x267,      0x270,      0x1234,
                                0xc0000104, 0x40000000};
    for (uint32_t index : indices) {
        EXPECT_TRUE(is_gp(rd(s, index))) << std::hex << index;
        EXPECT_TRUE(is_gp(wr(s, index, 0))) << std::hex << index;
    }
    // Read-only and write-only registers.
    EXPECT_TRUE(is_gp(wr(s, m::mtrr_cap, 0x508)));
    EXPECT_TRUE(is_gp(wr(s, m::feature_control, 1)));
    EXPECT_TRUE(is_gp(wr(s, m::feature_control, 5)));
    EXPECT_TRUE(is_gp(wr(s, m::platform_id, 0)));
    EXPECT_TRUE(is_gp(rd(s, m::bios_updt_trig)));
    expect_ok(wr(s, m::bios_updt_trig, 0x12345000), 0);
    expect_ok(wr(s, m::bios_sign_id, 0), 0);
    expect_ok(rd(s, m::bios_sign_id), 0);
}

TEST(MsrPolicy, RoutedToTheVirtualApic)
{
    GuestMsrState s = initial_msr_state(broadwell_config(), 0);
    EXPECT_EQ(rd(s, m::apic_base).action, MsrAction::apic_base);
    MsrResult w = wr(s, m::apic_base, 0xfee00d00);
    EXPECT_EQ(w.action, MsrAction::apic_base);
    EXPECT_EQ(w.value, 0xfee00d00u);
    for (uint32_t index : {0x800u, 0x802u, 0x830u, 0x8ffu}) {
        EXPECT_EQ(rd(s, index).action, MsrAction::x2apic);
        EXPECT_EQ(wr(s, index, 0x40).action, MsrAction::x2apic);
        EXPECT_EQ(wr(s, index, 0x40).value, 0x40u);
    }
    EXPECT_EQ(rd(s, m::tsc_deadline).action, MsrAction::tsc_deadline);
    EXPECT_EQ(wr(s, m::tsc_deadline, 123456).value, 123456u);
    EXPECT_EQ(wr(s, m::tsc_deadline, 123456).action, MsrAction::tsc_deadline);
}

TEST(MsrPolicy, Efer)
{
    GuestMsrState s = initial_msr_state(broadwell_config(), 0);
    // Linux startup_32 before paging: LME (and SCE/NXE later).
    expect_ok(wr(s, m::efer, 0x100), 0x100, MsrSync::vmcs);
    expect_ok(wr(s, m::efer, 0x901), 0x901, MsrSync::vmcs);
    expect_ok(rd(s, m::efer), 0x901);
    EXPECT_TRUE(is_gp(wr(s, m::efer, 0x903)));      // bit 1 reserved
    EXPECT_TRUE(is_gp(wr(s, m::efer, 0x1901)));     // SVME (AMD) is reserved on Intel
    EXPECT_TRUE(is_gp(wr(s, m::efer, 1ull << 32)));
    expect_ok(rd(s, m::efer), 0x901);
    // LMA is read-only: a written LMA is dropped, the current one kept.
    expect_ok(wr(s, m::efer, 0xd01), 0x901, MsrSync::vmcs);
    s.efer = 0xd01;  // as write_cr0 leaves it after enabling paging
    expect_ok(wr(s, m::efer, 0x101, 0x80000011), 0x501, MsrSync::vmcs);
    // LME cannot change while paging is on.
    EXPECT_TRUE(is_gp(wr(s, m::efer, 0x001, 0x80000011)));
    EXPECT_TRUE(is_gp(wr(s, m::efer, 0x000, 0x80000011)));
    s.efer = 0x001;
    EXPECT_TRUE(is_gp(wr(s, m::efer, 0x101, 0x80000011)));
    expect_ok(wr(s, m::efer, 0x101, 0x11), 0x101, MsrSync::vmcs);
}

TEST(MsrPolicy, Pat)
{
    GuestMsrState s = initial_msr_state(broadwell_config(), 0);
    // Linux: WB, WC, UC-, UC, WB, WP, UC-, WT.
    expect_ok(wr(s, m::pat, 0x0407050600070106), 0x0407050600070106, MsrSync::vmcs);
    expect_ok(rd(s, m::pat), 0x0407050600070106);
    for (uint64_t bad : {0x0007040600070402ull, 0x0007040600070306ull, 0x0807040600070406ull, 0xff07040600070406ull})
        EXPECT_TRUE(is_gp(wr(s, m::pat, bad))) << std::hex << bad;
    expect_ok(rd(s, m::pat), 0x0407050600070106);
}

TEST(MsrPolicy, Mtrrs)
{
    GuestMsrState s = initial_msr_state(broadwell_config(), 0);
    expect_ok(wr(s, m::mtrr_def_type, 0xc06), 0xc06);
    expect_ok(rd(s, m::mtrr_def_type), 0xc06);
    EXPECT_TRUE(is_gp(wr(s, m::mtrr_def_type, 0x1806)));  // bit 12 reserved
    EXPECT_TRUE(is_gp(wr(s, m::mtrr_def_type, 0xc02)));   // type 2 is reserved
    EXPECT_TRUE(is_gp(wr(s, m::mtrr_def_type, 0xc07)));   // UC- is a PAT type only

    // Variable range 1: 2 GiB UC at 0x80000000, as the i7-5600U's firmware programs them.
    expect_ok(wr(s, 0x202, 0x80000000), 0x80000000);
    expect_ok(wr(s, 0x203, 0x7f80000800), 0x7f80000800);
    expect_ok(rd(s, 0x202), 0x80000000);
    expect_ok(rd(s, 0x203), 0x7f80000800);
    EXPECT_TRUE(is_gp(wr(s, 0x202, 0x8000000006)));  // bit 39: beyond MAXPHYADDR 39
    EXPECT_TRUE(is_gp(wr(s, 0x202, 0x80000106)));    // bit 8 reserved
    EXPECT_TRUE(is_gp(wr(s, 0x202, 0x80000003)));    // type 3
    EXPECT_TRUE(is_gp(wr(s, 0x203, 0x7f80000801)));  // mask bit 0 reserved
    EXPECT_TRUE(is_gp(wr(s, 0x203, 0xff80000800)));  // bit 39
    expect_ok(wr(s, 0x20e, 0x6), 0x6);
    expect_ok(rd(s, 0x20e), 0x6);

    expect_ok(wr(s, m::mtrr_fix64k_00000, 0x0606060606060606), 0x0606060606060606);
    expect_ok(wr(s, m::mtrr_fix16k_a0000, 0x0101010101010101), 0x0101010101010101);
    expect_ok(wr(s, m::mtrr_fix4k_f8000, 0x0505050505050505), 0x0505050505050505);
    expect_ok(rd(s, m::mtrr_fix64k_00000), 0x0606060606060606);
    expect_ok(rd(s, m::mtrr_fix16k_a0000), 0x0101010101010101);
    expect_ok(rd(s, m::mtrr_fix4k_f8000), 0x0505050505050505);
    expect_ok(rd(s, m::mtrr_fix16k_80000), 0);
    EXPECT_TRUE(is_gp(wr(s, m::mtrr_fix4k_c0000, 0x0606060606060602)));
    EXPECT_TRUE(is_gp(wr(s, m::mtrr_fix4k_c0000, 0x0706060606060606)));
}

TEST(MsrPolicy, MiscEnable)
{
    GuestMsrState s = initial_msr_state(broadwell_config(), 0);
    expect_ok(wr(s, m::misc_enable, 0x1801), 0x1801);
    // Defined bits are accepted and ignored: fast strings stay on, XD-disable stays off.
    expect_ok(wr(s, m::misc_enable, 0x1800), 0x1801);
    expect_ok(wr(s, m::misc_enable, 0x1801 | (1ull << 22) | (1ull << 34)), 0x1801);
    expect_ok(rd(s, m::misc_enable), 0x1801);
    EXPECT_TRUE(is_gp(wr(s, m::misc_enable, 0x1803)));  // bit 1 reserved
    EXPECT_TRUE(is_gp(wr(s, m::misc_enable, 1ull << 38)));
}

TEST(MsrPolicy, TimeStampCounter)
{
    GuestMsrState s = initial_msr_state(broadwell_config(), 0);
    expect_ok(rd(s, m::tsc), now);
    // Writing 1000 at host TSC 5000: offset -4000, and TSC_ADJUST records the same change.
    expect_ok(wr(s, m::tsc, 1000), uint64_t(0) - 4000, MsrSync::tsc_offset);
    EXPECT_EQ(read_msr(s, m::tsc, 6000).value, 2000u);
    expect_ok(rd(s, m::tsc_adjust), uint64_t(0) - 4000);
    // Writing TSC_ADJUST = 0 undoes it (SDM: the TSC moves by the change of TSC_ADJUST).
    expect_ok(wr(s, m::tsc_adjust, 0), 0, MsrSync::tsc_offset);
    EXPECT_EQ(read_msr(s, m::tsc, 6000).value, 6000u);
    expect_ok(wr(s, m::tsc_adjust, 100), 100, MsrSync::tsc_offset);
    EXPECT_EQ(read_msr(s, m::tsc, 6000).value, 6100u);
    // Wrap-around is modular like the hardware counter.
    GuestMsrState w = initial_msr_state(broadwell_config(), ~0ull);
    EXPECT_EQ(read_msr(w, m::tsc, 10).value, 9u);

    MsrConfig no_adjust = broadwell_config();
    no_adjust.tsc_adjust = false;
    GuestMsrState n = initial_msr_state(no_adjust, 0);
    EXPECT_TRUE(is_gp(rd(n, m::tsc_adjust)));
    EXPECT_TRUE(is_gp(wr(n, m::tsc_adjust, 0)));
}

TEST(MsrPolicy, SyscallAndSysenterMsrs)
{
    GuestMsrState s = initial_msr_state(broadwell_config(), 0);
    expect_ok(wr(s, m::star, 0x0023001000000000), 0x0023001000000000, MsrSync::processor);
    expect_ok(wr(s, m::lstar, 0xffffffff81a00010), 0xffffffff81a00010, MsrSync::processor);
    expect_ok(wr(s, m::cstar, 0xffffffff81a01000), 0xffffffff81a01000, MsrSync::processor);
    expect_ok(wr(s, m::fmask, 0x47700), 0x47700, MsrSync::processor);
    expect_ok(wr(s, m::kernel_gs_base, 0x00007f0000000000), 0x00007f0000000000, MsrSync::processor);
    // Reads point at the processor, where SWAPGS may have changed KERNEL_GS_BASE since.
    expect_ok(rd(s, m::star), 0x0023001000000000, MsrSync::processor);
    expect_ok(rd(s, m::lstar), 0xffffffff81a00010, MsrSync::processor);
    expect_ok(rd(s, m::cstar), 0xffffffff81a01000, MsrSync::processor);
    expect_ok(rd(s, m::fmask), 0x47700, MsrSync::processor);
    expect_ok(rd(s, m::kernel_gs_base), 0x00007f0000000000, MsrSync::processor);
    for (uint32_t index : {m::lstar, m::cstar, m::kernel_gs_base, m::sysenter_esp, m::sysenter_eip}) {
        EXPECT_TRUE(is_gp(wr(s, index, 0x0000800000000000))) << std::hex << index;
        EXPECT_TRUE(is_gp(wr(s, index, 0xfff0000000000000 - 0x1000000000000))) << std::hex << index;
    }
    expect_ok(rd(s, m::lstar), 0xffffffff81a00010, MsrSync::processor);

    expect_ok(wr(s, m::sysenter_cs, 0x10), 0x10, MsrSync::vmcs);
    expect_ok(wr(s, m::sysenter_cs, 0x1'0000'0060), 0x60, MsrSync::vmcs);  // the VMCS field is 32 bits
    expect_ok(wr(s, m::sysenter_esp, 0xfffffe0000003000), 0xfffffe0000003000, MsrSync::vmcs);
    expect_ok(wr(s, m::sysenter_eip, 0xffffffff81a02000), 0xffffffff81a02000, MsrSync::vmcs);
    expect_ok(rd(s, m::sysenter_cs), 0x60);
    expect_ok(rd(s, m::sysenter_esp), 0xfffffe0000003000);
    expect_ok(rd(s, m::sysenter_eip), 0xffffffff81a02000);

    // With 5-level paging, 57-bit canonical addresses are accepted.
    MsrConfig la57 = broadwell_config();
    la57.linear_address_bits = 57;
    GuestMsrState f = initial_msr_state(la57, 0);
    expect_ok(wr(f, m::lstar, 0x00ff000000000000), 0x00ff000000000000, MsrSync::processor);
    EXPECT_TRUE(is_gp(wr(f, m::lstar, 0x0100000000000000)));
}

TEST(MsrPolicy, TscAux)
{
    GuestMsrState s = initial_msr_state(broadwell_config(), 0);
    expect_ok(wr(s, m::tsc_aux, 3), 3, MsrSync::processor);
    expect_ok(rd(s, m::tsc_aux), 3, MsrSync::processor);
    EXPECT_TRUE(is_gp(wr(s, m::tsc_aux, 1ull << 32)));
    MsrConfig none = broadwell_config();
    none.tsc_aux = false;
    GuestMsrState n = initial_msr_state(none, 0);
    EXPECT_TRUE(is_gp(rd(n, m::tsc_aux)));
    EXPECT_TRUE(is_gp(wr(n, m::tsc_aux, 0)));
}

TEST(MsrPolicy, DebugCtl)
{
    GuestMsrState s = initial_msr_state(broadwell_config(), 0);
    expect_ok(rd(s, m::debugctl), 0);
    expect_ok(wr(s, m::debugctl, 0x2), 0x2, MsrSync::vmcs);  // BTF
    expect_ok(rd(s, m::debugctl), 0x2);
    EXPECT_TRUE(is_gp(wr(s, m::debugctl, 0x1)));   // LBR
    EXPECT_TRUE(is_gp(wr(s, m::debugctl, 0x40)));  // TR
    expect_ok(wr(s, m::debugctl, 0), 0, MsrSync::vmcs);
}

TEST(MsrPolicy, SpeculationControl)
{
    GuestMsrState s = initial_msr_state(updated_config(), 0);
    expect_ok(rd(s, m::spec_ctrl), 0, MsrSync::processor);
    expect_ok(wr(s, m::spec_ctrl, 0x5), 0x5, MsrSync::processor);  // IBRS|SSBD
    expect_ok(rd(s, m::spec_ctrl), 0x5, MsrSync::processor);
    EXPECT_TRUE(is_gp(wr(s, m::spec_ctrl, 0x8)));  // IPRED_DIS_U is not shown
    MsrResult barrier = wr(s, m::pred_cmd, 1);
    EXPECT_EQ(barrier.action, MsrAction::ibpb);
    expect_ok(wr(s, m::pred_cmd, 0), 0);
    EXPECT_TRUE(is_gp(wr(s, m::pred_cmd, 2)));
    EXPECT_TRUE(is_gp(rd(s, m::pred_cmd)));  // write-only

    // Only the bits the CPUID shows: STIBP alone.
    MsrConfig stibp = updated_config();
    stibp.spec_ctrl_bits = 0x2;
    GuestMsrState t = initial_msr_state(stibp, 0);
    EXPECT_TRUE(is_gp(wr(t, m::spec_ctrl, 0x1)));
    expect_ok(wr(t, m::spec_ctrl, 0x2), 0x2, MsrSync::processor);
}

TEST(MsrBitmap, OnlyFsAndGsBaseArePassedThrough)
{
    uint8_t bitmap[msr_bitmap_size];
    fill_msr_bitmap(bitmap);
    for (bool write : {false, true}) {
        EXPECT_FALSE(msr_bitmap_intercepts(bitmap, m::fs_base, write));
        EXPECT_FALSE(msr_bitmap_intercepts(bitmap, m::gs_base, write));
        for (uint32_t index : {0x0u, 0x10u, 0x1bu, 0x277u, 0x800u, 0x1fffu, 0x2000u, 0xc0000080u, 0xc0000102u,
                               0xc0001fffu, 0xc0002000u, 0x40000000u})
            EXPECT_TRUE(msr_bitmap_intercepts(bitmap, index, write)) << std::hex << index;
    }
    // The layout: read-high bitmap at 1024, write-high at 3072; 0xC0000100/0101 are bits 0 and 1
    // of byte 0x20 in each.
    size_t cleared = 0;
    for (size_t i = 0; i < msr_bitmap_size; ++i)
        for (int b = 0; b < 8; ++b) cleared += !((bitmap[i] >> b) & 1);
    EXPECT_EQ(cleared, 4u);
    EXPECT_EQ(bitmap[1024 + 0x20], 0xfc);
    EXPECT_EQ(bitmap[3072 + 0x20], 0xfc);
}
