// Fixtures shared by the VMX unit tests, header-only. Values read on real processors, as
// recorded in VirtualBox's CPU database (src/VBox/VMM/VMMR3/cpus/*.h).
#pragma once
#include <cstdint>

#include "vmx/capabilities.hpp"
#include "vmx/cpuid_policy.hpp"

namespace vmx::fixtures {

// IA32_VMX_* capability MSRs. Absent MSRs are 0, as the hardware reader leaves them.

// Core i7-5600U, Broadwell: the Haswell-generation feature set (EPT with A/D bits, VPID,
// unrestricted guest, VMFUNC, VMCS shadowing; no APICv, no XSAVES control, no PML).
inline constexpr CapabilityMsrs broadwell = {
    .basic = 0x00da040000000012,
    .pinbased_ctls = 0x0000007f00000016,
    .procbased_ctls = 0xfff9fffe0401e172,
    .exit_ctls = 0x007fffff00036dff,
    .entry_ctls = 0x0000ffff000011ff,
    .misc = 0x300481e5,
    .cr0_fixed0 = 0x80000021,
    .cr0_fixed1 = 0xffffffff,
    .cr4_fixed0 = 0x2000,
    .cr4_fixed1 = 0x3767ff,
    .vmcs_enum = 0x2a,
    .procbased_ctls2 = 0x00057cff00000000,
    .ept_vpid_cap = 0x00000f0106334141,
    .true_pinbased_ctls = 0x0000007f00000016,
    .true_procbased_ctls = 0xfff9fffe04006172,
    .true_exit_ctls = 0x007fffff00036dfb,
    .true_entry_ctls = 0x0000ffff000011fb,
    .vmfunc = 0x1,
};

// Core i7-6700K, Skylake: adds the XSAVES control and PML.
inline constexpr CapabilityMsrs skylake = {
    .basic = 0x00da040000000004,
    .pinbased_ctls = 0x0000007f00000016,
    .procbased_ctls = 0xfff9fffe0401e172,
    .exit_ctls = 0x01ffffff00036dff,
    .entry_ctls = 0x0003ffff000011ff,
    .misc = 0x7004c1e7,
    .cr0_fixed0 = 0x80000021,
    .cr0_fixed1 = 0xffffffff,
    .cr4_fixed0 = 0x2000,
    .cr4_fixed1 = 0x3727ff,
    .vmcs_enum = 0x2e,
    .procbased_ctls2 = 0x001ffcff00000000,
    .ept_vpid_cap = 0x00000f0106334141,
    .true_pinbased_ctls = 0x0000007f00000016,
    .true_procbased_ctls = 0xfff9fffe04006172,
    .true_exit_ctls = 0x01ffffff00036dfb,
    .true_entry_ctls = 0x0003ffff000011fb,
    .vmfunc = 0x1,
};

// Xeon X5482, Core 2 Penryn: secondary controls exist but offer only "virtualize APIC accesses"
// and "WBINVD exiting" (no EPT, no VPID, so no EPT_VPID_CAP); no TRUE MSRs; no EFER controls.
inline constexpr CapabilityMsrs penryn = {
    .basic = 0x005a08000000000d,
    .pinbased_ctls = 0x0000003f00000016,
    .procbased_ctls = 0xf7f9fffe0401e172,
    .exit_ctls = 0x0003ffff00036dff,
    .entry_ctls = 0x00003fff000011ff,
    .misc = 0x403c0,
    .cr0_fixed0 = 0x80000021,
    .cr0_fixed1 = 0xffffffff,
    .cr4_fixed0 = 0x2000,
    .cr4_fixed1 = 0x27ff,
    .vmcs_enum = 0x2c,
    .procbased_ctls2 = 0x0000004100000000,
    .ept_vpid_cap = 0,
    .true_pinbased_ctls = 0,
    .true_procbased_ctls = 0,
    .true_exit_ctls = 0,
    .true_entry_ctls = 0,
    .vmfunc = 0,
};

// Core 2 X6800, Merom/Conroe: no secondary controls at all (PROCBASED_CTLS bit 63 is 0).
inline constexpr CapabilityMsrs merom = {
    .basic = 0x001a040000000007,
    .pinbased_ctls = 0x0000001f00000016,
    .procbased_ctls = 0x77b9fffe0401e172,
    .exit_ctls = 0x0003efff00036dff,
    .entry_ctls = 0x00001fff000011ff,
    .misc = 0x403c0,
    .cr0_fixed0 = 0x80000021,
    .cr0_fixed1 = 0xffffffff,
    .cr4_fixed0 = 0x2000,
    .cr4_fixed1 = 0x27ff,
    .vmcs_enum = 0x2c,
    .procbased_ctls2 = 0,
    .ept_vpid_cap = 0,
    .true_pinbased_ctls = 0,
    .true_procbased_ctls = 0,
    .true_exit_ctls = 0,
    .true_entry_ctls = 0,
    .vmfunc = 0,
};

// CPUID of the same Core i7-5600U (VirtualBox database, APIC ID 0): highest basic leaf 0x14,
// highest extended leaf 0x80000008, MAXPHYADDR 39. Leaf 7 EDX is 0 (microcode from before the
// speculation-control MSRs).
struct CpuidLeaf {
    uint32_t leaf, subleaf;
    CpuidRegs regs;
};
inline constexpr CpuidLeaf broadwell_cpuid[] = {
    {0x00000000, 0, {0x00000014, 0x756e6547, 0x6c65746e, 0x49656e69}},
    {0x00000001, 0, {0x000306d4, 0x00100800, 0x7ffafbff, 0xbfebfbff}},
    {0x00000002, 0, {0x76036301, 0x00f0b5ff, 0x00000000, 0x00c30000}},
    {0x00000004, 0, {0x1c004121, 0x01c0003f, 0x0000003f, 0x00000000}},
    {0x00000004, 1, {0x1c004122, 0x01c0003f, 0x0000003f, 0x00000000}},
    {0x00000004, 2, {0x1c004143, 0x01c0003f, 0x000001ff, 0x00000000}},
    {0x00000004, 3, {0x1c03c163, 0x03c0003f, 0x00000fff, 0x00000006}},
    {0x00000005, 0, {0x00000040, 0x00000040, 0x00000003, 0x11142120}},
    {0x00000006, 0, {0x00000077, 0x00000002, 0x00000009, 0x00000000}},
    {0x00000007, 0, {0x00000000, 0x021c2fbb, 0x00000000, 0x00000000}},
    {0x0000000a, 0, {0x07300403, 0x00000000, 0x00000000, 0x00000603}},
    {0x0000000b, 0, {0x00000001, 0x00000002, 0x00000100, 0x00000000}},
    {0x0000000b, 1, {0x00000004, 0x00000004, 0x00000201, 0x00000000}},
    {0x0000000b, 2, {0x00000000, 0x00000000, 0x00000002, 0x00000000}},
    {0x0000000d, 0, {0x00000007, 0x00000340, 0x00000340, 0x00000000}},
    {0x0000000d, 1, {0x00000001, 0x00000000, 0x00000000, 0x00000000}},
    {0x0000000d, 2, {0x00000100, 0x00000240, 0x00000000, 0x00000000}},
    {0x00000014, 0, {0x00000000, 0x00000001, 0x00000001, 0x00000000}},
    {0x80000000, 0, {0x80000008, 0x00000000, 0x00000000, 0x00000000}},
    {0x80000001, 0, {0x00000000, 0x00000000, 0x00000121, 0x2c100800}},
    {0x80000002, 0, {0x65746e49, 0x2952286c, 0x726f4320, 0x4d542865}},
    {0x80000003, 0, {0x37692029, 0x3036352d, 0x43205530, 0x40205550}},
    {0x80000004, 0, {0x362e3220, 0x7a484730, 0x00000000, 0x00000000}},
    {0x80000006, 0, {0x00000000, 0x00000000, 0x01006040, 0x00000000}},
    {0x80000007, 0, {0x00000000, 0x00000000, 0x00000000, 0x00000100}},
    {0x80000008, 0, {0x00003027, 0x00000000, 0x00000000, 0x00000000}},
};

// What the i7-5600U's CPUID instruction returns: leaves with subleaves (4, 7, 0xB, 0xD, 0x14)
// answer zeros for subleaves not listed, the others ignore ECX; leaves above the highest basic
// or extended leaf return the highest basic leaf's data.
inline CpuidRegs broadwell_host_cpuid(uint32_t leaf, uint32_t subleaf)
{
    if ((leaf > 0x14 && leaf < 0x80000000) || leaf > 0x80000008) leaf = 0x14;
    bool has_subleaves = leaf == 4 || leaf == 7 || leaf == 0xb || leaf == 0xd || leaf == 0x14;
    if (!has_subleaves) subleaf = 0;
    for (const CpuidLeaf& l : broadwell_cpuid)
        if (l.leaf == leaf && l.subleaf == subleaf) return l.regs;
    if (leaf == 0xb) return {0, 0, subleaf & 0xff, 0};
    return {0, 0, 0, 0};
}

}  // namespace vmx::fixtures
