#include "vmx/entry_checks.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "tests/unit/vmx_fixtures.hpp"
#include "vmx/control_registers.hpp"

using namespace vmx;
using namespace vmx::fixtures;

namespace {

const std::string execution = " (SDM Vol. 3C 27.2.1.1 VM-Execution Control Fields)";
const std::string entry_fields = " (SDM Vol. 3C 27.2.1.3 VM-Entry Control Fields)";
const std::string crs = " (SDM Vol. 3C 27.3.1.1 Checks on Guest Control Registers, Debug Registers, and MSRs)";
const std::string segments = " (SDM Vol. 3C 27.3.1.2 Checks on Guest Segment Registers)";
const std::string tables = " (SDM Vol. 3C 27.3.1.3 Checks on Guest Descriptor-Table Registers)";
const std::string rip = " (SDM Vol. 3C 27.3.1.4 Checks on Guest RIP, RFLAGS, and SSP)";
const std::string non_register = " (SDM Vol. 3C 27.3.1.5 Checks on Guest Non-Register State)";
const std::string pdptes = " (SDM Vol. 3C 27.3.1.6 Checks on Guest Page-Directory-Pointer-Table Entries)";

constexpr uint64_t rflags_if = 1ull << 9, rflags_tf = 1ull << 8, rflags_vm = 1ull << 17;

// A guest state with the controls Matryoshka computes for the processor, MAXPHYADDR 39 and 48
// linear-address bits (the i7-5600U's CPUID.80000008H:EAX = 0x3027).
struct Case {
    GuestState guest;
    EntryContext context;
    CapabilityMsrs caps;
};

EntryContext context_for(const CapabilityMsrs& caps)
{
    Controls c = compute_controls(caps);
    return EntryContext{c.pin.value, c.proc.value, c.proc2.value, c.entry.value, 0, 0, 0, 39, 48};
}

Case protected_mode(const CapabilityMsrs& caps = broadwell)
{
    return {multiboot_start_state(caps, 0x100000).guest, context_for(caps), caps};
}

Case real_mode(const CapabilityMsrs& caps = broadwell)
{
    return {reset_start_state(caps).guest, context_for(caps), caps};
}

// 64-bit mode as Linux runs: paging with PAE, EFER.LME/LMA/SCE/NXE, a 64-bit code segment.
Case long_mode()
{
    Case c = protected_mode();
    c.guest.cr0 = 0x80050033;
    c.guest.cr3 = 0x1000;
    c.guest.cr4 = 0x2020;
    c.guest.efer = 0xd01;
    c.guest.cs = {0x10, 0, 0xffffffff, 0xa09b};
    c.guest.ss = c.guest.ds = c.guest.es = {0x18, 0, 0xffffffff, 0xc093};
    c.guest.fs = c.guest.gs = {0, 0, 0, ar::unusable};
    c.guest.gs.base = 0xffff888000000000;
    c.guest.tr = {0x40, 0xfffffe0000003000, 0x4087, 0x8b};
    c.guest.rip = 0xffffffff81000000;
    c.guest.rflags = 0x246;
    c.context.entry |= entry::ia32e_mode_guest;
    return c;
}

// Paged protected mode without unrestricted guest, where the RPL/DPL rules apply.
Case restricted_paged()
{
    Case c = protected_mode();
    c.guest.cr0 |= cr0::pg;
    c.guest.cr3 = 0x1000;
    c.context.proc2 &= ~proc2::unrestricted_guest;
    return c;
}

Case virtual_8086()
{
    Case c = protected_mode();
    c.guest.rflags = 0x20202;
    for (Segment* s : {&c.guest.cs, &c.guest.ss, &c.guest.ds, &c.guest.es, &c.guest.fs, &c.guest.gs})
        *s = {0x1000, 0x10000, 0xffff, 0xf3};
    return c;
}

std::string check(const Case& c)
{
    char buffer[512];
    std::memset(buffer, 'x', sizeof buffer);
    const char* message = check_guest_state(c.guest, c.context, c.caps, buffer, sizeof buffer);
    if (!message) return "";
    EXPECT_EQ(message, buffer);
    return message;
}

}  // namespace

// ---- start states -------------------------------------------------------------------------------

TEST(StartStates, MultibootIsFlat32BitProtectedMode)
{
    StartState s = multiboot_start_state(broadwell, 0x100000);
    const GuestState& g = s.guest;
    EXPECT_EQ(g.cr0, 0x31u);  // PE|ET with NE forced by IA32_VMX_CR0_FIXED0
    EXPECT_EQ(s.cr0_read_shadow, 0x11u);
    EXPECT_EQ(g.cr4, 0x2000u);  // VMXE forced
    EXPECT_EQ(s.cr4_read_shadow, 0u);
    EXPECT_EQ(g.rip, 0x100000u);
    EXPECT_EQ(g.rflags, 0x2u);
    EXPECT_EQ(g.cs.selector, 0x08);
    EXPECT_EQ(g.cs.base, 0u);
    EXPECT_EQ(g.cs.limit, 0xffffffffu);
    EXPECT_EQ(g.cs.access_rights, 0xc09bu);
    for (const Segment* d : {&g.ds, &g.es, &g.ss, &g.fs, &g.gs}) {
        EXPECT_EQ(d->selector, 0x10);
        EXPECT_EQ(d->limit, 0xffffffffu);
        EXPECT_EQ(d->access_rights, 0xc093u);
    }
    EXPECT_EQ(g.tr.access_rights, 0x8bu);
    EXPECT_EQ(g.tr.limit, 0x67u);
    EXPECT_EQ(g.ldtr.access_rights, ar::unusable);
    EXPECT_EQ(g.efer, 0u);
    EXPECT_EQ(g.pat, 0x0007040600070406u);
    EXPECT_EQ(g.dr7, 0x400u);
    EXPECT_EQ(g.vmcs_link_pointer, ~0ull);
    EXPECT_EQ(g.activity_state, activity::active);
}

TEST(StartStates, ResetIsRealModeAtTheResetVector)
{
    StartState s = reset_start_state(broadwell);
    const GuestState& g = s.guest;
    EXPECT_EQ(s.cr0_read_shadow, 0x60000010u);  // CD|NW|ET as after RESET
    EXPECT_EQ(g.cr0, 0x30u);                    // CD/NW kept out of the processor, NE forced
    EXPECT_EQ(g.cr4, 0x2000u);
    EXPECT_EQ(g.rip, 0xfff0u);
    EXPECT_EQ(g.cs.selector, 0xf000);
    EXPECT_EQ(g.cs.base, 0xffff0000u);
    EXPECT_EQ(g.cs.limit, 0xffffu);
    EXPECT_EQ(g.cs.access_rights, 0x9bu);
    EXPECT_EQ(g.ds.access_rights, 0x93u);
    EXPECT_EQ(g.ds.base, 0u);
    EXPECT_EQ(g.ds.limit, 0xffffu);
    EXPECT_EQ(g.ldtr.access_rights, 0x82u);
    EXPECT_EQ(g.tr.access_rights, 0x8bu);
    EXPECT_EQ(g.gdtr_limit, 0xffffu);
    EXPECT_EQ(g.idtr_limit, 0xffffu);
    EXPECT_EQ(g.rflags, 0x2u);
    EXPECT_EQ(g.dr7, 0x400u);
}

// Both Linux entries (boot.rst): IF clear, CS = __BOOT_CS 0x10 (flat, `code_access_rights`),
// the data segments __BOOT_DS 0x18, the loader's GDT (at 0x1000, 4 descriptors here).
void expect_linux_boot_segments(const GuestState& g, uint32_t code_access_rights)
{
    EXPECT_EQ(g.rflags, 0x2u);
    EXPECT_EQ(g.cs.selector, 0x10);
    EXPECT_EQ(g.cs.access_rights, code_access_rights);
    EXPECT_EQ(g.cs.limit, 0xffffffffu);
    for (const Segment* d : {&g.ds, &g.es, &g.ss, &g.fs, &g.gs}) {
        EXPECT_EQ(d->selector, 0x18);
        EXPECT_EQ(d->access_rights, 0xc093u);
    }
    EXPECT_EQ(g.gdtr_base, 0x1000u);
    EXPECT_EQ(g.gdtr_limit, 31u);
}

TEST(StartStates, Linux32IsFlatProtectedModeWithTheBootGdt)
{
    StartState s = linux32_start_state(broadwell, 0x1000000, 0x1000, 31);
    const GuestState& g = s.guest;
    EXPECT_EQ(s.cr0_read_shadow, 0x11u);  // ET|PE, paging off
    EXPECT_EQ(s.cr4_read_shadow, 0u);
    EXPECT_EQ(g.efer, 0u);
    EXPECT_EQ(g.rip, 0x1000000u);
    expect_linux_boot_segments(g, 0xc09b);
}

TEST(StartStates, Linux64IsLongModeWithTheBootGdt)
{
    StartState s = linux64_start_state(broadwell, 0x1000200, 0x2000, 0x1000, 31);
    const GuestState& g = s.guest;
    EXPECT_EQ(s.cr0_read_shadow, 0x80000011u);  // PG|ET|PE
    EXPECT_EQ(g.cr0, 0x80000031u);              // NE forced
    EXPECT_EQ(s.cr4_read_shadow, 0x20u);
    EXPECT_EQ(g.cr4, 0x2020u);
    EXPECT_EQ(g.cr3, 0x2000u);
    EXPECT_EQ(g.efer, 0x500u);
    EXPECT_EQ(g.rip, 0x1000200u);
    expect_linux_boot_segments(g, 0xa09b);
}

TEST(StartStates, SipiStartsAtTheVectorPage)
{
    GuestState g = sipi_start_state(broadwell, 0x9a).guest;
    EXPECT_EQ(g.cs.selector, 0x9a00);
    EXPECT_EQ(g.cs.base, 0x9a000u);
    EXPECT_EQ(g.rip, 0u);
    EXPECT_EQ(g.cr0, 0x30u);
}

TEST(StartStates, PassTheChecksOnBroadwellAndSkylake)
{
    for (const CapabilityMsrs* caps : {&broadwell, &skylake}) {
        EXPECT_EQ(check(protected_mode(*caps)), "");
        EXPECT_EQ(check(real_mode(*caps)), "");
        EXPECT_EQ(check({sipi_start_state(*caps, 0x10).guest, context_for(*caps), *caps}), "");
        Case linux64{linux64_start_state(*caps, 0x1000200, 0x2000, 0x1000, 31).guest, context_for(*caps), *caps};
        linux64.context.entry |= entry::ia32e_mode_guest;
        EXPECT_EQ(check(linux64), "");
        EXPECT_EQ(check({linux32_start_state(*caps, 0x1000000, 0x1000, 31).guest, context_for(*caps), *caps}), "");
    }
    // The test bases built from them pass too.
    EXPECT_EQ(check(long_mode()), "");
    EXPECT_EQ(check(restricted_paged()), "");
    EXPECT_EQ(check(virtual_8086()), "");
}

TEST(StartStates, NeedUnrestrictedGuest)
{
    // Penryn has no unrestricted guest: PG (and PE for real mode) are fixed to 1.
    EXPECT_EQ(check(protected_mode(penryn)),
              "guest CR0 0x31: bits 0x80000000 must be 1 in VMX operation (IA32_VMX_CR0_FIXED0 0x80000021)" + crs);
    EXPECT_EQ(check(real_mode(penryn)),
              "guest CR0 0x30: bits 0x80000001 must be 1 in VMX operation (IA32_VMX_CR0_FIXED0 0x80000021)" + crs);
}

TEST(EntryChecks, WithoutABufferTheSectionIsReturned)
{
    Case c = protected_mode();
    c.guest.tr.selector = 0x2c;
    EXPECT_STREQ(check_guest_state(c.guest, c.context, c.caps, nullptr, 0),
                 "SDM Vol. 3C 27.3.1.2 Checks on Guest Segment Registers");
    char small[12];
    EXPECT_STREQ(check_guest_state(c.guest, c.context, c.caps, small, sizeof small), "guest TR se");
    EXPECT_EQ(check_guest_state(protected_mode().guest, c.context, c.caps, nullptr, 0), nullptr);
}

// ---- controls: unrestricted guest and event injection (27.2.1) ----------------------------------

TEST(EntryControlChecks, UnrestrictedGuestNeedsEpt)
{
    Case c = protected_mode();
    c.context.proc2 &= ~proc2::enable_ept;
    EXPECT_EQ(check(c), "secondary processor-based controls 0x14e8: unrestricted guest needs enable EPT" + execution);
}

TEST(EntryControlChecks, InterruptionInformation)
{
    struct Row {
        uint32_t info;
        std::string expected;
    };
    const Row rows[] = {
        {0x80001020, "VM-entry interruption information 0x80001020: bits 30:12 are reserved"},
        {0x80000120, "VM-entry interruption information 0x80000120: interruption type 1 is reserved"},
        {0x80000701,
         "VM-entry interruption information 0x80000701: type 7 (other event) needs vector 0 and monitor "
         "trap flag support"},
        {0x80000203, "VM-entry interruption information 0x80000203: an NMI must have vector 2"},
        {0x80000320, "VM-entry interruption information 0x80000320: a hardware exception needs a vector below 32"},
        {0x8000030d,
         "VM-entry interruption information 0x8000030d: deliver-error-code must be 1 for vector 13 in "
         "protected mode"},
        {0x80000b06, "VM-entry interruption information 0x80000b06: deliver-error-code must be 0 for vector 6"},
        {0x80000820,
         "VM-entry interruption information 0x80000820: deliver-error-code must be 0 for interruption "
         "type 0"},
    };
    for (const Row& row : rows) {
        Case c = protected_mode();
        c.guest.rflags |= rflags_if;
        c.context.interruption_info = row.info;
        EXPECT_EQ(check(c), row.expected + entry_fields);
    }
    // Valid injections: #GP with its error code, #PF, an external interrupt, an NMI, MTF pending.
    for (uint32_t info : {0x80000b0du, 0x80000b0eu, 0x80000030u, 0x80000202u, 0x80000700u}) {
        Case c = protected_mode();
        c.guest.rflags |= rflags_if;
        c.context.interruption_info = info;
        EXPECT_EQ(check(c), "") << std::hex << info;
    }
    // An invalid field is ignored when its valid bit is clear.
    Case c = protected_mode();
    c.context.interruption_info = 0x7fffffff;
    EXPECT_EQ(check(c), "");
}

TEST(EntryControlChecks, ErrorCodeFitsIn16Bits)
{
    Case c = protected_mode();
    c.context.interruption_info = 0x80000b0e;  // #PF
    c.context.exception_error_code = 0x10002;
    EXPECT_EQ(check(c), "VM-entry exception error code 0x10002: bits 31:16 must be 0" + entry_fields);
    c.context.exception_error_code = 0xffff;
    EXPECT_EQ(check(c), "");
    c.context.interruption_info = 0x8000030e;  // without an error code the field is not used
    c.caps.basic |= 1ull << 56;
    c.context.exception_error_code = 0x10002;
    EXPECT_EQ(check(c), "");
}

TEST(EntryControlChecks, NoErrorCodeInRealMode)
{
    Case c = real_mode();
    c.context.interruption_info = 0x80000b0d;
    EXPECT_EQ(check(c),
              "VM-entry interruption information 0x80000b0d: deliver-error-code must be 0 with guest CR0.PE=0" +
                  entry_fields);
    c.context.interruption_info = 0x8000030d;  // real mode #GP has no error code
    EXPECT_EQ(check(c), "");
}

TEST(EntryControlChecks, ErrorCodesForAnyVectorWithBasicBit56)
{
    Case c = protected_mode();
    c.caps.basic |= 1ull << 56;
    c.context.interruption_info = 0x80000b06;
    EXPECT_EQ(check(c), "");
    c.context.interruption_info = 0x8000030d;
    EXPECT_EQ(check(c), "");
}

TEST(EntryControlChecks, SoftwareInterruptInstructionLength)
{
    Case c = protected_mode();
    c.context.interruption_info = 0x80000480;  // INT 0x80
    c.context.instruction_length = 0;
    EXPECT_EQ(check(c),
              "VM-entry instruction length 0: must be 1-15 to inject a software interrupt or exception" + entry_fields);
    c.context.instruction_length = 16;
    EXPECT_EQ(check(c), "VM-entry instruction length 16: must be 1-15 to inject a software interrupt or exception" +
                            entry_fields);
    c.context.instruction_length = 2;
    EXPECT_EQ(check(c), "");
    c.caps = skylake;  // IA32_VMX_MISC[30]: zero-length injection allowed
    c.context.instruction_length = 0;
    EXPECT_EQ(check(c), "");
}

// ---- control registers, debug registers, MSRs (27.3.1.1) ----------------------------------------

TEST(EntryControlRegisterChecks, Cr0)
{
    Case c = protected_mode();
    c.guest.cr0 = 0x80000030;
    EXPECT_EQ(check(c), "guest CR0 0x80000030: PG=1 needs PE=1" + crs);
    c.guest.cr0 = 0x11;
    EXPECT_EQ(check(c),
              "guest CR0 0x11: bits 0x20 must be 1 in VMX operation (IA32_VMX_CR0_FIXED0 0x80000021, PE "
              "and PG exempt with unrestricted guest)" +
                  crs);
    c.guest.cr0 = 0x100000031;
    EXPECT_EQ(
        check(c),
        "guest CR0 0x100000031: bits 0x100000000 must be 0 in VMX operation (IA32_VMX_CR0_FIXED1 0xffffffff)" + crs);
    c.guest.cr0 = 0x60000031;  // CD and NW are never checked
    EXPECT_EQ(check(c), "");
}

TEST(EntryControlRegisterChecks, Cr4)
{
    Case c = protected_mode();
    c.guest.cr4 = 0;
    EXPECT_EQ(check(c), "guest CR4 0x0: bits 0x2000 must be 1 in VMX operation (IA32_VMX_CR4_FIXED0 0x2000)" + crs);
    c.guest.cr4 = 0x402000;  // PKE: Broadwell has no protection keys
    EXPECT_EQ(check(c),
              "guest CR4 0x402000: bits 0x400000 must be 0 in VMX operation (IA32_VMX_CR4_FIXED1 0x3767ff)" + crs);
    c.guest.cr4 = 0x22000;
    EXPECT_EQ(check(c), "guest CR4 0x22000: PCIDE must be 0 without the IA-32e mode guest entry control" + crs);
}

TEST(EntryControlRegisterChecks, CetNeedsWriteProtect)
{
    Case c = protected_mode();
    c.caps.cr4_fixed1 |= cr4::cet;  // a processor with CET
    c.guest.cr4 = 0x802000;
    EXPECT_EQ(check(c), "guest CR4 0x802000: CET=1 needs CR0.WP=1 (CR0 0x31)" + crs);
    c.guest.cr0 |= cr0::wp;
    EXPECT_EQ(check(c), "");
}

TEST(EntryControlRegisterChecks, Ia32eModeNeedsPagingAndPae)
{
    Case c = long_mode();
    c.guest.cr0 = 0x31;
    EXPECT_EQ(check(c), "guest CR0 0x31: PG must be 1 with the IA-32e mode guest entry control" + crs);
    c = long_mode();
    c.guest.cr4 = 0x2000;
    EXPECT_EQ(check(c), "guest CR4 0x2000: PAE must be 1 with the IA-32e mode guest entry control" + crs);
    c = long_mode();
    c.guest.cr4 |= cr4::pcide;
    EXPECT_EQ(check(c), "");
}

TEST(EntryControlRegisterChecks, Cr3BeyondThePhysicalAddressWidth)
{
    Case c = protected_mode();
    c.guest.cr3 = 1ull << 39;
    EXPECT_EQ(check(c), "guest CR3 0x8000000000: bits 63:39 must be 0 (physical-address width)" + crs);
    c.guest.cr3 = (1ull << 39) - 0x1000;
    EXPECT_EQ(check(c), "");
}

TEST(EntryControlRegisterChecks, DebugRegisters)
{
    Case c = protected_mode();
    c.guest.debugctl = 0x4;
    EXPECT_EQ(check(c), "guest IA32_DEBUGCTL 0x4: reserved bits 0x4 must be 0" + crs);
    c.guest.debugctl = 0x3;  // LBR|BTF
    EXPECT_EQ(check(c), "");
    c.guest.dr7 = 0x100000400;
    EXPECT_EQ(check(c), "guest DR7 0x100000400: bits 63:32 must be 0" + crs);
    // Without "load debug controls" neither field is loaded, so neither is checked.
    c.guest.debugctl = 0x4;
    c.context.entry &= ~entry::load_debug_controls;
    EXPECT_EQ(check(c), "");
}

TEST(EntryControlRegisterChecks, SysenterCanonical)
{
    Case c = protected_mode();
    c.guest.sysenter_esp = 0x0000800000000000;
    EXPECT_EQ(check(c), "guest IA32_SYSENTER_ESP 0x800000000000: must be canonical" + crs);
    c.guest.sysenter_esp = 0xffff800000000000;
    c.guest.sysenter_eip = 0x7fff00000000ffff;
    EXPECT_EQ(check(c), "guest IA32_SYSENTER_EIP 0x7fff00000000ffff: must be canonical" + crs);
    c.context.linear_address_bits = 57;  // still not canonical with 5-level paging
    EXPECT_EQ(check(c), "guest IA32_SYSENTER_EIP 0x7fff00000000ffff: must be canonical" + crs);
    c.guest.sysenter_eip = 0x00ff000000000000;  // canonical only with 57 bits
    EXPECT_EQ(check(c), "");
}

TEST(EntryControlRegisterChecks, Pat)
{
    Case c = protected_mode();
    c.guest.pat = 0x0007040608070406;
    EXPECT_EQ(check(c), "guest IA32_PAT 0x7040608070406: entry 3 has memory type 8, not 0, 1, 4, 5, 6 or 7" + crs);
    c.guest.pat = 0x0007040600070402;
    EXPECT_EQ(check(c), "guest IA32_PAT 0x7040600070402: entry 0 has memory type 2, not 0, 1, 4, 5, 6 or 7" + crs);
    c.context.entry &= ~entry::load_ia32_pat;
    EXPECT_EQ(check(c), "");
}

TEST(EntryControlRegisterChecks, Efer)
{
    Case c = protected_mode();
    c.guest.efer = 0x2;
    EXPECT_EQ(check(c), "guest IA32_EFER 0x2: reserved bits 0x2 must be 0" + crs);
    c.guest.efer = 0x500;
    EXPECT_EQ(check(c), "guest IA32_EFER 0x500: LMA must equal the IA-32e mode guest entry control (0)" + crs);
    // LME=1 with paging off is fine (about to enter IA-32e mode) ...
    c.guest.efer = 0x100;
    EXPECT_EQ(check(c), "");
    // ... but not once paging is on without IA-32e mode.
    c.guest.cr0 |= cr0::pg;
    EXPECT_EQ(check(c),
              "guest IA32_EFER 0x100: LME must equal the IA-32e mode guest entry control (0) when CR0.PG=1" + crs);
    c = long_mode();
    c.guest.efer = 0x801;
    EXPECT_EQ(check(c), "guest IA32_EFER 0x801: LMA must equal the IA-32e mode guest entry control (1)" + crs);
}

// ---- segment registers (27.3.1.2) ---------------------------------------------------------------

TEST(EntrySegmentChecks, Selectors)
{
    Case c = protected_mode();
    c.guest.tr.selector = 0x2c;
    EXPECT_EQ(check(c), "guest TR selector 0x2c: TI must be 0" + segments);

    c = real_mode();
    c.guest.ldtr.selector = 0x4;
    EXPECT_EQ(check(c), "guest LDTR selector 0x4: TI must be 0 when LDTR is usable" + segments);
    c.guest.ldtr.access_rights |= ar::unusable;
    EXPECT_EQ(check(c), "");

    c = restricted_paged();
    c.guest.ss.selector = 0x13;
    EXPECT_EQ(check(c),
              "guest SS selector 0x13: RPL must equal the CS selector's RPL 0 (no unrestricted guest)" + segments);
}

TEST(EntrySegmentChecks, Virtual8086)
{
    Case c = virtual_8086();
    c.guest.ds.base = 0;
    EXPECT_EQ(check(c), "guest DS base 0x0: must be the selector 0x1000 times 16 in virtual-8086 mode" + segments);
    c = virtual_8086();
    c.guest.es.limit = 0xfffff;
    EXPECT_EQ(check(c), "guest ES limit 0xfffff: must be 0xffff in virtual-8086 mode" + segments);
    c = virtual_8086();
    c.guest.fs.access_rights = 0xf2;
    EXPECT_EQ(check(c), "guest FS access rights 0xf2: must be 0xf3 in virtual-8086 mode" + segments);
}

TEST(EntrySegmentChecks, Bases)
{
    Case c = protected_mode();
    c.guest.fs.base = 0x8000000000000000;
    EXPECT_EQ(check(c), "guest FS base 0x8000000000000000: must be canonical" + segments);
    c = protected_mode();
    c.guest.tr.base = 0x0000800000000000;
    EXPECT_EQ(check(c), "guest TR base 0x800000000000: must be canonical" + segments);
    c = protected_mode();
    c.guest.cs.base = 1ull << 32;
    EXPECT_EQ(check(c), "guest CS base 0x100000000: bits 63:32 must be 0" + segments);
    c = protected_mode();
    c.guest.ss.base = 0xffffffff00000000;
    EXPECT_EQ(check(c), "guest SS base 0xffffffff00000000: bits 63:32 must be 0" + segments);
    c.guest.ss.access_rights |= ar::unusable;  // an unusable SS's base is not checked
    EXPECT_EQ(check(c), "");
}

TEST(EntrySegmentChecks, CodeSegment)
{
    struct Row {
        uint32_t access_rights;
        std::string expected;
    };
    const Row rows[] = {
        {0xc09a,
         "guest CS access rights 0xc09a: type 10 must be 9, 11, 13 or 15 (accessed code), or 3 with "
         "unrestricted guest"},
        {0xc08b, "guest CS access rights 0xc08b: S must be 1 (code or data)"},
        {0xc0f3, "guest CS access rights 0xc0f3: DPL must be 0 for type 3"},
        {0xc0fb, "guest CS access rights 0xc0fb: DPL 3 must equal the SS DPL 0 (non-conforming code)"},
        {0xc0ff, "guest CS access rights 0xc0ff: DPL 3 must not exceed the SS DPL 0 (conforming code)"},
        {0xc01b, "guest CS access rights 0xc01b: P must be 1"},
        {0xc19b, "guest CS access rights 0xc19b: bits 11:8 are reserved"},
        {0x2c09b, "guest CS access rights 0x2c09b: bits 31:17 are reserved"},
        {0x409b,
         "guest CS limit 0xffffffff with access rights 0x409b: G must be 1 when limit bits 31:20 are not all 0"},
    };
    for (const Row& row : rows) {
        Case c = protected_mode();
        c.guest.cs.access_rights = row.access_rights;
        EXPECT_EQ(check(c), row.expected + segments);
    }
    Case c = protected_mode();
    c.guest.cs.access_rights = 0xc093;  // type 3 is fine with unrestricted guest
    EXPECT_EQ(check(c), "");
    c.guest.cs.access_rights = 0xc09f;  // conforming code with DPL equal to the SS DPL
    EXPECT_EQ(check(c), "");
    c.guest.cs.limit = 0xffffe;
    c.guest.cs.access_rights = 0xc09b;
    EXPECT_EQ(
        check(c),
        "guest CS limit 0xffffe with access rights 0xc09b: G must be 0 unless limit bits 11:0 are all 1" + segments);
    c = restricted_paged();
    c.guest.cs.access_rights = 0xc093;
    EXPECT_EQ(check(c), "guest CS access rights 0xc093: type 3 must be 9, 11, 13 or 15 (accessed code)" + segments);
}

TEST(EntrySegmentChecks, LongModeCodeSegment)
{
    Case c = long_mode();
    c.guest.cs.access_rights = 0xe09b;
    EXPECT_EQ(check(c), "guest CS access rights 0xe09b: D/B must be 0 when L=1 in IA-32e mode" + segments);
    c.context.entry &= ~entry::ia32e_mode_guest;  // L is ignored outside IA-32e mode
    c.guest.efer = 0;
    c.guest.cr0 &= ~cr0::pg;
    c.guest.rip = 0x1000000;
    EXPECT_EQ(check(c), "");
}

TEST(EntrySegmentChecks, StackSegment)
{
    Case c = protected_mode();
    c.guest.ss.access_rights = 0xc095;
    EXPECT_EQ(check(c), "guest SS access rights 0xc095: type 5 must be 3 or 7 (read/write data)" + segments);

    c = restricted_paged();
    c.guest.cs.access_rights = 0xc09f;  // conforming, so SS DPL 3 passes the CS rule
    c.guest.ss.access_rights = 0xc0f3;
    EXPECT_EQ(check(c), "guest SS access rights 0xc0f3: DPL 3 must equal the selector's RPL 0 (no unrestricted guest)" +
                            segments);

    c = real_mode();
    c.guest.cs.access_rights = 0x9f;
    c.guest.ss.access_rights = 0xf3;
    EXPECT_EQ(check(c), "guest SS access rights 0xf3: DPL must be 0 when CR0.PE=0" + segments);

    c = protected_mode();
    c.guest.cs.access_rights = 0xc093;
    c.guest.ss.access_rights = 0xc0f3;
    EXPECT_EQ(check(c), "guest SS access rights 0xc0f3: DPL must be 0 when CS has type 3" + segments);

    c = protected_mode();
    c.guest.ss.access_rights = 0xc083;
    EXPECT_EQ(check(c), "guest SS access rights 0xc083: S must be 1 (code or data)" + segments);
}

TEST(EntrySegmentChecks, DataSegments)
{
    Case c = protected_mode();
    c.guest.ds.access_rights = 0xc092;
    EXPECT_EQ(check(c), "guest DS access rights 0xc092: type 2 must have the accessed bit (0) set" + segments);
    c = protected_mode();
    c.guest.gs.access_rights = 0xc099;
    EXPECT_EQ(check(c), "guest GS access rights 0xc099: code type 9 must be readable" + segments);
    c.guest.gs.access_rights = 0xc09b;  // readable code is a valid data segment register content
    EXPECT_EQ(check(c), "");
    c = protected_mode();
    c.guest.es.access_rights = 0xc013;
    EXPECT_EQ(check(c), "guest ES access rights 0xc013: P must be 1" + segments);
    c = protected_mode();
    c.guest.fs.access_rights = 0xc083;
    EXPECT_EQ(check(c), "guest FS access rights 0xc083: S must be 1 (code or data)" + segments);
    c = protected_mode();
    c.guest.ds.access_rights = 0x4093;
    EXPECT_EQ(check(c),
              "guest DS limit 0xffffffff with access rights 0x4093: G must be 1 when limit bits 31:20 are "
              "not all 0" +
                  segments);
    c = protected_mode();
    c.guest.es.access_rights = 0xc493;
    EXPECT_EQ(check(c), "guest ES access rights 0xc493: bits 11:8 are reserved" + segments);

    c = restricted_paged();
    c.guest.ds.selector = 0x13;
    EXPECT_EQ(check(c),
              "guest DS access rights 0xc093: DPL 0 must not be below the selector's RPL 3 (no "
              "unrestricted guest)" +
                  segments);

    // Unusable registers are not checked at all.
    c = protected_mode();
    c.guest.ds.access_rights = ar::unusable | 0x12;
    c.guest.ds.base = 0xdead00000000;
    EXPECT_EQ(check(c), "");
}

TEST(EntrySegmentChecks, TaskRegister)
{
    Case c = long_mode();
    c.guest.tr.access_rights = 0x83;
    EXPECT_EQ(check(c), "guest TR access rights 0x83: type 3 must be 11 (busy 64-bit TSS) in IA-32e mode" + segments);
    c = protected_mode();
    c.guest.tr.access_rights = 0x89;
    EXPECT_EQ(check(c), "guest TR access rights 0x89: type 9 must be 3 or 11 (busy TSS)" + segments);
    c.guest.tr.access_rights = 0x83;  // busy 16-bit TSS
    EXPECT_EQ(check(c), "");
    c.guest.tr.access_rights = 0x9b;
    EXPECT_EQ(check(c), "guest TR access rights 0x9b: S must be 0 (system segment)" + segments);
    c.guest.tr.access_rights = 0x1008b;
    EXPECT_EQ(check(c), "guest TR access rights 0x1008b: TR must be usable" + segments);
    c.guest.tr.access_rights = 0x0b;
    EXPECT_EQ(check(c), "guest TR access rights 0xb: P must be 1" + segments);
    c.guest.tr.access_rights = 0x808b;
    EXPECT_EQ(check(c),
              "guest TR limit 0x67 with access rights 0x808b: G must be 0 unless limit bits 11:0 are all 1" + segments);
}

TEST(EntrySegmentChecks, LdtRegister)
{
    Case c = real_mode();
    c.guest.ldtr.access_rights = 0x83;
    EXPECT_EQ(check(c), "guest LDTR access rights 0x83: type 3 must be 2 (LDT)" + segments);
    c.guest.ldtr.access_rights = 0x92;
    EXPECT_EQ(check(c), "guest LDTR access rights 0x92: S must be 0 (system segment)" + segments);
    c.guest.ldtr.access_rights = 0x02;
    EXPECT_EQ(check(c), "guest LDTR access rights 0x2: P must be 1" + segments);
    c.guest.ldtr.access_rights = 0x40082;
    EXPECT_EQ(check(c), "guest LDTR access rights 0x40082: bits 31:17 are reserved" + segments);
    c.guest.ldtr.access_rights = 0x82;
    c.guest.ldtr.base = 0xfff0000000000000;
    EXPECT_EQ(check(c), "guest LDTR base 0xfff0000000000000: must be canonical" + segments);
}

// ---- descriptor tables (27.3.1.3) ---------------------------------------------------------------

TEST(EntryDescriptorTableChecks, BasesAndLimits)
{
    Case c = protected_mode();
    c.guest.gdtr_base = 0x0000900000000000;
    EXPECT_EQ(check(c), "guest GDTR base 0x900000000000: must be canonical" + tables);
    c = protected_mode();
    c.guest.idtr_base = 0x8000000000000000;
    EXPECT_EQ(check(c), "guest IDTR base 0x8000000000000000: must be canonical" + tables);
    c = protected_mode();
    c.guest.gdtr_limit = 0x10000;
    EXPECT_EQ(check(c), "guest GDTR limit 0x10000: bits 31:16 must be 0" + tables);
    c = protected_mode();
    c.guest.idtr_limit = 0xffffffff;
    EXPECT_EQ(check(c), "guest IDTR limit 0xffffffff: bits 31:16 must be 0" + tables);
}

// ---- RIP and RFLAGS (27.3.1.4) ------------------------------------------------------------------

TEST(EntryRipChecks, Rip)
{
    Case c = protected_mode();
    c.guest.rip = 1ull << 32;
    EXPECT_EQ(check(c), "guest RIP 0x100000000: bits 63:32 must be 0 outside 64-bit mode" + rip);
    // Compatibility mode (IA-32e, CS.L=0) is not 64-bit mode.
    c = long_mode();
    c.guest.cs.access_rights = 0xc09b;
    EXPECT_EQ(check(c), "guest RIP 0xffffffff81000000: bits 63:32 must be 0 outside 64-bit mode" + rip);
    c = long_mode();
    c.guest.rip = 0x0001000000000000;
    EXPECT_EQ(check(c), "guest RIP 0x1000000000000: bits 63:48 must be identical in 64-bit mode" + rip);
    // Bit 47 is not compared: VM entry accepts this non-canonical RIP (the fetch faults later).
    c.guest.rip = 0x0000800000000000;
    EXPECT_EQ(check(c), "");
}

TEST(EntryRipChecks, Rflags)
{
    Case c = protected_mode();
    c.guest.rflags = 0xa;
    EXPECT_EQ(check(c), "guest RFLAGS 0xa: reserved bits 0x8 must be 0" + rip);
    c.guest.rflags = 0x400002;
    EXPECT_EQ(check(c), "guest RFLAGS 0x400002: reserved bits 0x400000 must be 0" + rip);
    c.guest.rflags = 0;
    EXPECT_EQ(check(c), "guest RFLAGS 0x0: bit 1 must be 1" + rip);

    c = virtual_8086();
    c.guest.cr0 &= ~cr0::pe;
    EXPECT_EQ(check(c), "guest RFLAGS 0x20202: VM must be 0 when CR0.PE=0" + rip);
    c = virtual_8086();
    Case l = long_mode();
    c.guest.cr0 = l.guest.cr0;
    c.guest.cr4 = l.guest.cr4;
    c.guest.efer = l.guest.efer;
    c.guest.tr.access_rights = 0x8b;
    c.context.entry |= entry::ia32e_mode_guest;
    EXPECT_EQ(check(c), "guest RFLAGS 0x20202: VM must be 0 in IA-32e mode" + rip);

    c = protected_mode();
    c.context.interruption_info = 0x80000030;
    EXPECT_EQ(check(c), "guest RFLAGS 0x2: IF must be 1 to inject an external interrupt" + rip);
}

// ---- non-register state (27.3.1.5) --------------------------------------------------------------

TEST(EntryNonRegisterChecks, ActivityState)
{
    Case c = protected_mode();
    c.guest.activity_state = 4;
    EXPECT_EQ(check(c), "guest activity state 4: must be 0-3" + non_register);

    c = protected_mode();
    c.caps.misc &= ~(1ull << 8);
    c.guest.activity_state = activity::wait_for_sipi;
    EXPECT_EQ(check(c),
              "guest activity state 3 (wait-for-SIPI): not supported (IA32_VMX_MISC bit 8 is 0)" + non_register);
    c.caps = broadwell;
    EXPECT_EQ(check(c), "");

    c = protected_mode();
    c.guest.cs.access_rights = 0xc0fb;
    c.guest.ss.access_rights = 0xc0f3;
    c.guest.activity_state = activity::hlt;
    EXPECT_EQ(check(c), "guest activity state 1 (HLT): needs SS DPL 0 (SS access rights 0xc0f3)" + non_register);
    c.guest.activity_state = activity::active;
    EXPECT_EQ(check(c), "");

    c = protected_mode();
    c.guest.rflags |= rflags_if;
    c.guest.activity_state = activity::hlt;
    c.guest.interruptibility = interruptibility::sti;
    EXPECT_EQ(check(c),
              "guest activity state 1 (HLT): must be active with blocking by STI or MOV SS "
              "(interruptibility 0x1)" +
                  non_register);
}

TEST(EntryNonRegisterChecks, EventsEachActivityStateTakes)
{
    struct Row {
        uint32_t state;
        uint32_t info;
        bool allowed;
    };
    const Row rows[] = {
        {activity::hlt, 0x80000030, true},       {activity::hlt, 0x80000202, true},
        {activity::hlt, 0x80000301, true},       {activity::hlt, 0x80000312, true},
        {activity::hlt, 0x80000700, true},       {activity::hlt, 0x80000b0d, false},
        {activity::hlt, 0x80000603, false},      {activity::shutdown, 0x80000202, true},
        {activity::shutdown, 0x80000312, true},  {activity::shutdown, 0x80000030, false},
        {activity::shutdown, 0x80000301, false}, {activity::wait_for_sipi, 0x80000202, false},
        {activity::active, 0x80000b0d, true},
    };
    for (const Row& row : rows) {
        Case c = protected_mode();
        c.guest.rflags |= rflags_if;
        c.guest.activity_state = row.state;
        c.context.interruption_info = row.info;
        c.context.instruction_length = 1;
        std::string result = check(c);
        if (row.allowed) {
            EXPECT_EQ(result, "") << row.state << " " << std::hex << row.info;
        } else {
            const char* names[] = {"active", "HLT", "shutdown", "wait-for-SIPI"};
            char expected[160];
            std::snprintf(expected, sizeof expected,
                          "guest activity state %u (%s): cannot take the injected event (interruption information "
                          "%#x)",
                          row.state, names[row.state], row.info);
            EXPECT_EQ(result, expected + non_register);
        }
    }
}

TEST(EntryNonRegisterChecks, Interruptibility)
{
    Case c = protected_mode();
    c.guest.rflags |= rflags_if;
    c.guest.interruptibility = 0x20;
    EXPECT_EQ(check(c), "guest interruptibility state 0x20: bits 31:5 are reserved" + non_register);
    c.guest.interruptibility = 0x3;
    EXPECT_EQ(check(c), "guest interruptibility state 0x3: blocking by STI and by MOV SS together" + non_register);
    c.guest.interruptibility = interruptibility::sti;
    c.guest.rflags &= ~rflags_if;
    EXPECT_EQ(check(c),
              "guest interruptibility state 0x1: blocking by STI needs RFLAGS.IF=1 (RFLAGS 0x2)" + non_register);
    c.guest.rflags |= rflags_if;
    EXPECT_EQ(check(c), "");
    c.context.interruption_info = 0x80000030;
    EXPECT_EQ(check(c),
              "guest interruptibility state 0x1: blocking by STI or MOV SS while injecting an external "
              "interrupt" +
                  non_register);
    c.guest.interruptibility = interruptibility::mov_ss;
    c.context.interruption_info = 0x80000202;
    EXPECT_EQ(check(c), "guest interruptibility state 0x2: blocking by MOV SS while injecting an NMI" + non_register);
    c.context.interruption_info = 0;
    c.guest.interruptibility = interruptibility::smi;
    EXPECT_EQ(check(c), "guest interruptibility state 0x4: blocking by SMI outside SMM" + non_register);
    c.guest.interruptibility = interruptibility::enclave | interruptibility::mov_ss;
    EXPECT_EQ(check(c),
              "guest interruptibility state 0x12: enclave interruption with blocking by MOV SS" + non_register);
}

TEST(EntryNonRegisterChecks, NmiBlockingWithVirtualNmis)
{
    Case c = protected_mode();
    ASSERT_TRUE(c.context.pin & pin::virtual_nmis);
    c.guest.interruptibility = interruptibility::nmi;
    c.context.interruption_info = 0x80000202;
    EXPECT_EQ(check(c), "guest interruptibility state 0x8: blocking by NMI while injecting an NMI with virtual NMIs" +
                            non_register);
    c.context.pin &= ~pin::virtual_nmis;
    EXPECT_EQ(check(c), "");
}

TEST(EntryNonRegisterChecks, PendingDebugExceptions)
{
    Case c = protected_mode();
    c.guest.pending_debug = 0x10;
    EXPECT_EQ(check(c), "guest pending debug exceptions 0x10: reserved bits 0x10 must be 0" + non_register);
    c.guest.pending_debug = 0x2000;
    EXPECT_EQ(check(c), "guest pending debug exceptions 0x2000: reserved bits 0x2000 must be 0" + non_register);

    // Single-stepping over STI: the #DB for TF must be pending.
    c = protected_mode();
    c.guest.rflags |= rflags_if | rflags_tf;
    c.guest.interruptibility = interruptibility::sti;
    EXPECT_EQ(check(c),
              "guest pending debug exceptions 0x0: BS must be 1 with RFLAGS.TF=1 and IA32_DEBUGCTL.BTF=0 "
              "under STI/MOV SS blocking or HLT" +
                  non_register);
    c.guest.pending_debug = 0x4000;
    EXPECT_EQ(check(c), "");
    c.guest.debugctl = 0x2;  // BTF: single-step on branches only
    EXPECT_EQ(check(c),
              "guest pending debug exceptions 0x4000: BS must be 0 with RFLAGS.TF=0 or IA32_DEBUGCTL.BTF=1 "
              "under STI/MOV SS blocking or HLT" +
                  non_register);
    // Without blocking or HLT the BS rule does not apply.
    c.guest.interruptibility = 0;
    EXPECT_EQ(check(c), "");

    c = protected_mode();
    c.guest.pending_debug = 0x10001;
    EXPECT_EQ(check(c),
              "guest pending debug exceptions 0x10001: RTM (bit 16) excludes bits 11:0 and 14" + non_register);
    c.guest.pending_debug = 0x10000;
    c.guest.interruptibility = interruptibility::mov_ss;
    EXPECT_EQ(check(c),
              "guest pending debug exceptions 0x10000: RTM (bit 16) excludes blocking by MOV SS" + non_register);
}

TEST(EntryNonRegisterChecks, VmcsLinkPointer)
{
    Case c = protected_mode();
    c.guest.vmcs_link_pointer = 0;
    EXPECT_EQ(check(c),
              "VMCS link pointer 0x0: must be 0xffffffffffffffff (Matryoshka uses no VMCS shadowing)" + non_register);
}

// ---- PDPTEs (27.3.1.6) --------------------------------------------------------------------------

TEST(EntryPdpteChecks, PaePagingWithEpt)
{
    Case c = protected_mode();
    c.guest.cr0 |= cr0::pg;
    c.guest.cr3 = 0x3000;
    c.guest.cr4 |= cr4::pae;
    c.guest.pdpte[0] = 0x4001;
    c.guest.pdpte[1] = 0xdead0000;  // not present: ignored
    c.guest.pdpte[2] = 0x1007;
    EXPECT_EQ(check(c), "guest PDPTE2 0x1007: present with reserved bits set (2:1, 8:5 or 63:39)" + pdptes);
    c.guest.pdpte[2] = 0x8000001001;
    EXPECT_EQ(check(c), "guest PDPTE2 0x8000001001: present with reserved bits set (2:1, 8:5 or 63:39)" + pdptes);
    c.guest.pdpte[2] = 0x7ffffff019;  // PWT, PCD, highest address allowed
    EXPECT_EQ(check(c), "");
    // Not checked in IA-32e mode or with paging off.
    c.guest.pdpte[3] = 0x1007;
    c.guest.cr0 &= ~cr0::pg;
    EXPECT_EQ(check(c), "");
}
