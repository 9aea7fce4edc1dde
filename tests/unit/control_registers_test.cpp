#include "vmx/control_registers.hpp"

#include <gtest/gtest.h>

#include "tests/unit/vmx_fixtures.hpp"

using namespace vmx;
using namespace vmx::fixtures;

namespace {

// What a Broadwell guest's CPUID allows (VME, PVI, TSD, DE, PSE, PAE, PGE, PCE, OSFXSR,
// OSXMMEXCPT, FSGSBASE, PCIDE, OSXSAVE, SMEP, SMAP; MCE hidden, no UMIP/LA57/PKE on this part).
constexpr uint64_t broadwell_guest_cr4 = 0x3707bf;

const CrConfig config = make_cr_config(broadwell, broadwell_guest_cr4);

CrState state(uint64_t cr0_value, uint64_t cr4_value = 0, uint64_t efer_value = 0, bool cs_l = false,
              uint64_t cr3 = 0)
{
    return CrState{cr0_value, cr4_value, cr3, efer_value, cs_l};
}

// Long mode as Linux runs it: PG|AM|WP|NE|ET|MP|PE, PAE|PGE|OSFXSR|OSXMMEXCPT|OSXSAVE|SMEP.
constexpr uint64_t linux_cr0 = 0x80050033, linux_cr4 = 0x1406a0, linux_efer = 0xd01;

}  // namespace

TEST(CrConfig, BroadwellMasks)
{
    EXPECT_EQ(config.cr0_fixed0, 0x20u);  // NE; PE and PG exempt with unrestricted guest
    EXPECT_EQ(config.cr0_fixed1, 0xffffffffu);
    EXPECT_EQ(config.cr4_fixed0, 0x2000u);
    EXPECT_EQ(config.cr4_allowed, 0x3707bfu);
    // Guest-owned CR0: MP, EM, TS, ET, WP, AM.
    EXPECT_EQ(~config.cr0_mask, 0x5001eu);
    // Guest-owned CR4: VME, PVI, TSD, DE, PGE, PCE, OSFXSR, OSXMMEXCPT, FSGSBASE, OSXSAVE, SMEP, SMAP.
    EXPECT_EQ(~config.cr4_mask, 0x35078fu);
    for (uint64_t owned : {cr0::pe, cr0::ne, cr0::nw, cr0::cd, cr0::pg, uint64_t(1) << 6, uint64_t(1) << 32})
        EXPECT_TRUE(config.cr0_mask & owned) << std::hex << owned;
    for (uint64_t owned : {cr4::vmxe, cr4::smxe, cr4::pae, cr4::pse, cr4::pcide, cr4::la57, cr4::mce, cr4::pke})
        EXPECT_TRUE(config.cr4_mask & owned) << std::hex << owned;
}

TEST(CrConfig, VmxAndSmxAreNeverAllowed)
{
    CrConfig c = make_cr_config(broadwell, ~0ull);
    EXPECT_EQ(c.cr4_allowed, 0x3707ffu);
    EXPECT_EQ(c.cr4_allowed & (cr4::vmxe | cr4::smxe), 0u);
    // PKE is in the guest-ownable set but the processor's FIXED1 forbids it.
    EXPECT_EQ(c.cr4_allowed & cr4::pke, 0u);
    EXPECT_TRUE(c.cr4_mask & cr4::pke);
}

TEST(CrConfig, ActualValues)
{
    EXPECT_EQ(cr0_actual(config, 0x60000010), 0x30u);  // CD/NW never reach the processor
    EXPECT_EQ(cr0_actual(config, 0x11), 0x31u);
    EXPECT_EQ(cr0_actual(config, 0x1), 0x31u);  // ET is hardwired
    EXPECT_EQ(cr0_actual(config, linux_cr0), linux_cr0);
    EXPECT_EQ(cr4_actual(config, 0), 0x2000u);
    EXPECT_EQ(cr4_actual(config, linux_cr4), 0x1426a0u);
}

TEST(CrConfig, GuestView)
{
    // The guest reads NE and CD/NW from the shadow, the guest-owned bits from the VMCS.
    EXPECT_EQ(guest_cr_value(0x30 | cr0::ts, 0x60000010, config.cr0_mask), 0x60000018u);
    EXPECT_EQ(guest_cr_value(0x26a0, 0x6a0, config.cr4_mask), 0x6a0u);
}

// ---- MOV to CR0 ---------------------------------------------------------------------------------

TEST(WriteCr0, FirmwareEntersProtectedMode)
{
    CrWrite w = write_cr0(config, state(0x60000010), 0x60000011);
    EXPECT_EQ(w.fault, nullptr);
    EXPECT_EQ(w.actual, 0x31u);
    EXPECT_EQ(w.shadow, 0x60000011u);
    EXPECT_EQ(w.efer, 0u);
    EXPECT_FALSE(w.efer_changed);
    EXPECT_FALSE(w.ia32e_mode_guest);
    EXPECT_FALSE(w.flush_tlb);
    EXPECT_FALSE(w.load_pdptes);
}

TEST(WriteCr0, CachingBitsLiveInTheShadowOnly)
{
    CrWrite w = write_cr0(config, state(0x60000011), 0x11);
    EXPECT_EQ(w.fault, nullptr);
    EXPECT_EQ(w.actual, 0x31u);
    EXPECT_EQ(w.shadow, 0x11u);
    w = write_cr0(config, state(0x11), 0x40000011);  // CD alone is valid
    EXPECT_EQ(w.fault, nullptr);
    EXPECT_EQ(w.actual, 0x31u);
    EXPECT_EQ(w.shadow, 0x40000011u);
}

TEST(WriteCr0, ReservedLowBitsAreIgnoredAndEtIsHardwired)
{
    CrWrite w = write_cr0(config, state(0x11), 0x1 | (1ull << 6) | (1ull << 17));
    EXPECT_EQ(w.fault, nullptr);
    EXPECT_EQ(w.shadow, 0x11u);
    EXPECT_EQ(w.actual, 0x31u);
}

TEST(WriteCr0, GuestClearsNe)
{
    CrWrite w = write_cr0(config, state(0x31), 0x11);
    EXPECT_EQ(w.fault, nullptr);
    EXPECT_EQ(w.actual, 0x31u);
    EXPECT_EQ(w.shadow, 0x11u);
}

TEST(WriteCr0, Faults)
{
    struct Row {
        CrState from;
        uint64_t value;
        const char* fault;
    };
    const Row rows[] = {
        {state(0x11), 0x100000011, "CR0 bits 63:32 are reserved"},
        {state(0x11), 0x80000010, "CR0.PG=1 needs CR0.PE=1"},
        {state(0x11), 0x20000011, "CR0.NW=1 needs CR0.CD=1"},
        {state(0x11, 0, efer::lme), 0x80000011, "CR0.PG=1 with EFER.LME=1 needs CR4.PAE=1"},
        {state(0x11, cr4::pae, efer::lme, true), 0x80000011, "CR0.PG=1 with EFER.LME=1 needs CS.L=0"},
        {state(linux_cr0, linux_cr4, linux_efer, true), 0x33, "CR0.PG cannot be cleared in 64-bit mode"},
        {state(linux_cr0, linux_cr4 | cr4::pcide, linux_efer, false), 0x33,
         "CR0.PG cannot be cleared while CR4.PCIDE=1"},
        {state(linux_cr0, linux_cr4 | cr4::cet, linux_efer, true), linux_cr0 & ~cr0::wp,
         "CR0.WP cannot be cleared while CR4.CET=1"},
        // Clearing PE in long mode leaves PG=1 without PE.
        {state(linux_cr0, linux_cr4, linux_efer, true), linux_cr0 & ~cr0::pe, "CR0.PG=1 needs CR0.PE=1"},
    };
    for (const Row& row : rows) {
        CrWrite w = write_cr0(config, row.from, row.value);
        EXPECT_STREQ(w.fault, row.fault) << std::hex << row.value;
        EXPECT_FALSE(w.efer_changed);
        EXPECT_FALSE(w.flush_tlb);
    }
}

TEST(WriteCr0, Enables32BitPaging)
{
    CrWrite w = write_cr0(config, state(0x11), 0x80000011);
    EXPECT_EQ(w.fault, nullptr);
    EXPECT_EQ(w.actual, 0x80000031u);
    EXPECT_TRUE(w.flush_tlb);
    EXPECT_FALSE(w.load_pdptes);
    EXPECT_FALSE(w.efer_changed);
}

TEST(WriteCr0, EnablesPaePagingAndLoadsThePdptes)
{
    CrWrite w = write_cr0(config, state(0x11, cr4::pae), 0x80000011);
    EXPECT_EQ(w.fault, nullptr);
    EXPECT_TRUE(w.load_pdptes);
    EXPECT_TRUE(w.flush_tlb);
    // CD changes under PAE paging reload them too; TS does not.
    w = write_cr0(config, state(0x80000011, cr4::pae), 0xc0000011);
    EXPECT_TRUE(w.load_pdptes);
    EXPECT_FALSE(w.flush_tlb);
    w = write_cr0(config, state(0x80000011, cr4::pae), 0x80000019);
    EXPECT_FALSE(w.load_pdptes);
}

TEST(WriteCr0, ActivatesAndLeavesIa32eMode)
{
    // Linux's startup_32: EFER.LME is set, CR4.PAE is set, then CR0.PG.
    CrWrite w = write_cr0(config, state(0x11, cr4::pae, efer::lme), 0x80000011);
    EXPECT_EQ(w.fault, nullptr);
    EXPECT_EQ(w.efer, efer::lme | efer::lma);
    EXPECT_TRUE(w.efer_changed);
    EXPECT_TRUE(w.ia32e_mode_guest);
    EXPECT_TRUE(w.flush_tlb);
    EXPECT_FALSE(w.load_pdptes);  // IA-32e paging has no PDPTE registers

    // Leaving from compatibility mode (CS.L=0).
    w = write_cr0(config, state(0x80000011, cr4::pae, efer::lme | efer::lma), 0x11);
    EXPECT_EQ(w.fault, nullptr);
    EXPECT_EQ(w.efer, efer::lme);
    EXPECT_TRUE(w.efer_changed);
    EXPECT_FALSE(w.ia32e_mode_guest);
    EXPECT_TRUE(w.flush_tlb);

    // Other writes in 64-bit mode keep IA-32e mode.
    w = write_cr0(config, state(linux_cr0, linux_cr4, linux_efer, true), linux_cr0 | cr0::ts);
    EXPECT_EQ(w.fault, nullptr);
    EXPECT_EQ(w.efer, linux_efer);
    EXPECT_FALSE(w.efer_changed);
    EXPECT_TRUE(w.ia32e_mode_guest);
    EXPECT_FALSE(w.flush_tlb);
}

TEST(WriteCr0, WriteProtectChangeFlushes)
{
    CrWrite w = write_cr0(config, state(linux_cr0, linux_cr4, linux_efer, true), linux_cr0 & ~cr0::wp);
    EXPECT_EQ(w.fault, nullptr);
    EXPECT_TRUE(w.flush_tlb);
}

TEST(WriteCr0, CltsAndLmsw)
{
    CrWrite w = clts(config, state(0x80000039));
    EXPECT_EQ(w.fault, nullptr);
    EXPECT_EQ(w.shadow, 0x80000031u);
    EXPECT_EQ(w.actual, 0x80000031u);

    // LMSW sets PE, MP, EM, TS from the source; bits above 3 of the source are ignored.
    w = lmsw(config, state(0x60000010), 0xfff3);
    EXPECT_EQ(w.fault, nullptr);
    EXPECT_EQ(w.shadow, 0x60000013u);
    // ... and cannot clear PE.
    w = lmsw(config, state(0x1b), 0x0);
    EXPECT_EQ(w.fault, nullptr);
    EXPECT_EQ(w.shadow, 0x11u);
    EXPECT_EQ(w.actual, 0x31u);
}

// ---- MOV to CR4 ---------------------------------------------------------------------------------

TEST(WriteCr4, LinuxEnablesPaeAndGlobalPages)
{
    CrWrite w = write_cr4(config, state(0x11), 0x6a0);
    EXPECT_EQ(w.fault, nullptr);
    EXPECT_EQ(w.actual, 0x26a0u);
    EXPECT_EQ(w.shadow, 0x6a0u);
    EXPECT_TRUE(w.flush_tlb);
    EXPECT_FALSE(w.load_pdptes);  // paging is off
    EXPECT_FALSE(w.efer_changed);
}

TEST(WriteCr4, PaePagingChangesReloadThePdptes)
{
    CrWrite w = write_cr4(config, state(0x80000011, cr4::pae), cr4::pae | cr4::pge);
    EXPECT_EQ(w.fault, nullptr);
    EXPECT_TRUE(w.load_pdptes);
    EXPECT_TRUE(w.flush_tlb);
    w = write_cr4(config, state(0x80000011, cr4::pae), cr4::pae | cr4::osfxsr);
    EXPECT_FALSE(w.load_pdptes);
    EXPECT_FALSE(w.flush_tlb);
}

TEST(WriteCr4, Faults)
{
    CapabilityMsrs modern = broadwell;
    modern.cr4_fixed1 |= cr4::la57 | cr4::cet | cr4::pke;
    CrConfig with_la57 = make_cr_config(modern, broadwell_guest_cr4 | cr4::la57 | cr4::cet);
    struct Row {
        const CrConfig* config;
        CrState from;
        uint64_t value;
        const char* fault;
    };
    const Row rows[] = {
        {&config, state(0x11), 0x2000, "CR4.VMXE cannot be set: VMX is not available to guests"},
        {&config, state(0x11), 0x4000,
         "CR4 reserved bit set (or a bit whose feature the guest's CPUID lacks)"},  // SMXE
        {&config, state(0x11), cr4::pke, "CR4 reserved bit set (or a bit whose feature the guest's CPUID lacks)"},
        {&config, state(0x11), cr4::mce, "CR4 reserved bit set (or a bit whose feature the guest's CPUID lacks)"},
        {&config, state(0x11), 1ull << 32, "CR4 reserved bit set (or a bit whose feature the guest's CPUID lacks)"},
        {&config, state(linux_cr0, linux_cr4, linux_efer, true), linux_cr4 & ~cr4::pae,
         "CR4.PAE cannot be cleared in IA-32e mode"},
        {&with_la57, state(linux_cr0, linux_cr4, linux_efer, true), linux_cr4 | cr4::la57,
         "CR4.LA57 cannot change in IA-32e mode"},
        {&config, state(0x80000011, cr4::pae), cr4::pae | cr4::pcide, "CR4.PCIDE=1 needs IA-32e mode"},
        {&config, state(linux_cr0, linux_cr4, linux_efer, true, 0x1005), linux_cr4 | cr4::pcide,
         "CR4.PCIDE=1 needs CR3[11:0]=0"},
        {&with_la57, state(linux_cr0 & ~cr0::wp, linux_cr4, linux_efer, true), linux_cr4 | cr4::cet,
         "CR4.CET=1 needs CR0.WP=1"},
    };
    for (const Row& row : rows) {
        CrWrite w = write_cr4(*row.config, row.from, row.value);
        EXPECT_STREQ(w.fault, row.fault) << std::hex << row.value;
        EXPECT_FALSE(w.flush_tlb);
    }
}

TEST(WriteCr4, PcidInLongMode)
{
    CrWrite w = write_cr4(config, state(linux_cr0, linux_cr4, linux_efer, true, 0x1000), linux_cr4 | cr4::pcide);
    EXPECT_EQ(w.fault, nullptr);
    EXPECT_EQ(w.actual, 0x1626a0u);
    EXPECT_TRUE(w.ia32e_mode_guest);
    EXPECT_TRUE(w.flush_tlb);
    // Clearing PCIDE is allowed and flushes.
    w = write_cr4(config, state(linux_cr0, linux_cr4 | cr4::pcide, linux_efer, true, 0x1003), linux_cr4);
    EXPECT_EQ(w.fault, nullptr);
    EXPECT_TRUE(w.flush_tlb);
    // Outside IA-32e mode, LA57 may change (it takes effect when paging is enabled).
    CapabilityMsrs modern = broadwell;
    modern.cr4_fixed1 |= cr4::la57;
    CrConfig with_la57 = make_cr_config(modern, broadwell_guest_cr4 | cr4::la57);
    w = write_cr4(with_la57, state(0x11, cr4::pae), cr4::pae | cr4::la57);
    EXPECT_EQ(w.fault, nullptr);
    EXPECT_TRUE(w.flush_tlb);
}

TEST(Pdpte, ReservedBits)
{
    EXPECT_TRUE(pdpte_valid(0, 39));
    EXPECT_TRUE(pdpte_valid(0xfffffffffffffffe, 39));  // not present
    EXPECT_TRUE(pdpte_valid(0x7ffffff019, 39));
    EXPECT_FALSE(pdpte_valid(0x8000000001, 39));
    EXPECT_TRUE(pdpte_valid(0x8000000001, 40));
    EXPECT_FALSE(pdpte_valid(0x1003, 39));  // bit 1
    EXPECT_FALSE(pdpte_valid(0x1021, 39));  // bit 5
    EXPECT_FALSE(pdpte_valid(0x1101, 39));  // bit 8
    EXPECT_TRUE(pdpte_valid(0x1e01, 39));   // bits 11:9 are ignored
    EXPECT_FALSE(pdpte_valid(0x8000000000001001, 52));  // XD is reserved in a PDPTE
}
