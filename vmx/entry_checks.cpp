#include "vmx/entry_checks.hpp"

#include "lib/format.hpp"
#include "vmx/control_registers.hpp"
#include "vmx/msr_policy.hpp"

namespace vmx {

namespace {

constexpr const char* sec_execution = "SDM Vol. 3C 27.2.1.1 VM-Execution Control Fields";
constexpr const char* sec_entry = "SDM Vol. 3C 27.2.1.3 VM-Entry Control Fields";
constexpr const char* sec_cr = "SDM Vol. 3C 27.3.1.1 Checks on Guest Control Registers, Debug Registers, and MSRs";
constexpr const char* sec_segments = "SDM Vol. 3C 27.3.1.2 Checks on Guest Segment Registers";
constexpr const char* sec_tables = "SDM Vol. 3C 27.3.1.3 Checks on Guest Descriptor-Table Registers";
constexpr const char* sec_rip = "SDM Vol. 3C 27.3.1.4 Checks on Guest RIP, RFLAGS, and SSP";
constexpr const char* sec_non_register = "SDM Vol. 3C 27.3.1.5 Checks on Guest Non-Register State";
constexpr const char* sec_pdpte = "SDM Vol. 3C 27.3.1.6 Checks on Guest Page-Directory-Pointer-Table Entries";

constexpr uint64_t debugctl_reserved = 0xffffffffffff003c;  // bits 5:2, 63:16
constexpr uint64_t rflags_reserved = 0xffffffffffc08028;    // bits 63:22, 15, 5, 3
constexpr uint64_t rflags_tf = 1ull << 8, rflags_if = 1ull << 9, rflags_vm = 1ull << 17;
constexpr uint64_t pending_reserved = 0xfffffffffffeaff0;  // bits 11:4, 13, 15, 63:17
constexpr uint64_t pending_bs = 1ull << 14, pending_rtm = 1ull << 16;
constexpr uint64_t efer_defined = efer::sce | efer::lme | efer::lma | efer::nxe;

constexpr unsigned type_of(uint32_t access_rights) { return access_rights & ar::type_mask; }
constexpr unsigned dpl_of(uint32_t access_rights) { return (access_rights >> ar::dpl_shift) & 3; }
constexpr bool usable(const Segment& s) { return !(s.access_rights & ar::unusable); }
constexpr bool bit(uint64_t value, unsigned n) { return (value >> n) & 1; }

// Formats a violation into the caller's buffer: "<what>: <rule> (<SDM section>)".
class Report {
public:
    Report(char* buffer, size_t size) : buffer_(buffer), size_(size) {}

    template <class... Args>
    const char* fail(const char* section, Str pattern, const Args&... args)
    {
        if (!buffer_ || size_ == 0) return section;
        size_t n = format_to(buffer_, size_, pattern, args...);
        format_to(buffer_ + n, size_ - n, " ({})", section);
        return buffer_;
    }

private:
    char* buffer_;
    size_t size_;
};

struct Mode {
    bool unrestricted, ept, ia32e, v86, pe, load_debug, load_pat, load_efer;
    unsigned physical_bits, linear_bits;
    bool injecting;
    uint32_t event_type, event_vector;
};

Mode mode_of(const GuestState& g, const EntryContext& c)
{
    Mode m{};
    m.unrestricted = c.proc2 & proc2::unrestricted_guest;
    m.ept = c.proc2 & proc2::enable_ept;
    m.ia32e = c.entry & entry::ia32e_mode_guest;
    m.v86 = g.rflags & rflags_vm;
    m.pe = g.cr0 & cr0::pe;
    m.load_debug = c.entry & entry::load_debug_controls;
    m.load_pat = c.entry & entry::load_ia32_pat;
    m.load_efer = c.entry & entry::load_ia32_efer;
    m.physical_bits = c.physical_address_bits ? c.physical_address_bits : 36;
    m.linear_bits = c.linear_address_bits ? c.linear_address_bits : 48;
    m.injecting = c.interruption_info & interruption::valid;
    m.event_type = (c.interruption_info & interruption::type_mask) >> interruption::type_shift;
    m.event_vector = c.interruption_info & interruption::vector_mask;
    return m;
}

// Exceptions that push an error code: #DF, #TS, #NP, #SS, #GP, #PF, #AC.
constexpr bool has_error_code(uint32_t vector) { return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17; }

const char* check_controls(const GuestState& g, const EntryContext& c, const CapabilityMsrs& caps, const Mode& m,
                           Report& r)
{
    if (m.unrestricted && !m.ept)
        return r.fail(sec_execution, "secondary processor-based controls {:#x}: unrestricted guest needs enable EPT",
                      c.proc2);
    if (!m.injecting) return nullptr;

    uint32_t info = c.interruption_info;
    if (info & interruption::reserved)
        return r.fail(sec_entry, "VM-entry interruption information {:#x}: bits 30:12 are reserved", info);
    if (m.event_type == 1)
        return r.fail(sec_entry, "VM-entry interruption information {:#x}: interruption type 1 is reserved", info);
    if (m.event_type == interruption::other_event) {
        bool mtf = (control_capability(caps, ControlKind::procbased) >> 32) & proc::monitor_trap_flag;
        if (!mtf || m.event_vector != 0)
            return r.fail(sec_entry,
                          "VM-entry interruption information {:#x}: type 7 (other event) needs vector 0 and "
                          "monitor trap flag support",
                          info);
    }
    if (m.event_type == interruption::nmi && m.event_vector != 2)
        return r.fail(sec_entry, "VM-entry interruption information {:#x}: an NMI must have vector 2", info);
    if (m.event_type == interruption::hardware_exception && m.event_vector > 31)
        return r.fail(sec_entry,
                      "VM-entry interruption information {:#x}: a hardware exception needs a vector below 32", info);

    bool deliver = info & interruption::deliver_error_code;
    bool any_vector = bit(caps.basic, 56);  // IA32_VMX_BASIC[56]: error codes for any exception
    bool exception = m.event_type == interruption::hardware_exception;
    if (deliver) {
        if (!exception)
            return r.fail(sec_entry,
                          "VM-entry interruption information {:#x}: deliver-error-code must be 0 for interruption "
                          "type {}",
                          info, m.event_type);
        if (!(g.cr0 & cr0::pe))
            return r.fail(sec_entry,
                          "VM-entry interruption information {:#x}: deliver-error-code must be 0 with guest CR0.PE=0",
                          info);
        if (!any_vector && !has_error_code(m.event_vector))
            return r.fail(sec_entry,
                          "VM-entry interruption information {:#x}: deliver-error-code must be 0 for vector {}", info,
                          m.event_vector);
        if (c.exception_error_code >> 16)
            return r.fail(sec_entry, "VM-entry exception error code {:#x}: bits 31:16 must be 0",
                          c.exception_error_code);
    } else if (exception && (g.cr0 & cr0::pe) && !any_vector && has_error_code(m.event_vector)) {
        return r.fail(sec_entry,
                      "VM-entry interruption information {:#x}: deliver-error-code must be 1 for vector {} in "
                      "protected mode",
                      info, m.event_vector);
    }

    bool software = m.event_type == interruption::software_interrupt ||
                    m.event_type == interruption::privileged_software_exception ||
                    m.event_type == interruption::software_exception;
    bool zero_length_ok = bit(caps.misc, 30);
    if (software && (c.instruction_length > 15 || (c.instruction_length == 0 && !zero_length_ok)))
        return r.fail(sec_entry,
                      "VM-entry instruction length {}: must be {}-15 to inject a software interrupt or exception",
                      c.instruction_length, zero_length_ok ? 0 : 1);
    return nullptr;
}

const char* check_control_registers(const GuestState& g, const CapabilityMsrs& caps, const Mode& m, Report& r)
{
    if ((g.cr0 & cr0::pg) && !(g.cr0 & cr0::pe)) return r.fail(sec_cr, "guest CR0 {:#x}: PG=1 needs PE=1", g.cr0);
    uint64_t cr0_fixed0 = guest_cr0_fixed0(caps, m.unrestricted);
    uint64_t cr0_fixed1 = caps.cr0_fixed1 | cr0::cd | cr0::nw;
    if (uint64_t missing = cr0_fixed0 & ~g.cr0)
        return r.fail(sec_cr, "guest CR0 {:#x}: bits {:#x} must be 1 in VMX operation (IA32_VMX_CR0_FIXED0 {:#x}{})",
                      g.cr0, missing, caps.cr0_fixed0,
                      m.unrestricted ? Str(", PE and PG exempt with unrestricted guest") : Str(""));
    if (uint64_t extra = g.cr0 & ~cr0_fixed1)
        return r.fail(sec_cr, "guest CR0 {:#x}: bits {:#x} must be 0 in VMX operation (IA32_VMX_CR0_FIXED1 {:#x})",
                      g.cr0, extra, caps.cr0_fixed1);
    if (uint64_t missing = caps.cr4_fixed0 & ~g.cr4)
        return r.fail(sec_cr, "guest CR4 {:#x}: bits {:#x} must be 1 in VMX operation (IA32_VMX_CR4_FIXED0 {:#x})",
                      g.cr4, missing, caps.cr4_fixed0);
    if (uint64_t extra = g.cr4 & ~caps.cr4_fixed1)
        return r.fail(sec_cr, "guest CR4 {:#x}: bits {:#x} must be 0 in VMX operation (IA32_VMX_CR4_FIXED1 {:#x})",
                      g.cr4, extra, caps.cr4_fixed1);
    if ((g.cr4 & cr4::cet) && !(g.cr0 & cr0::wp))
        return r.fail(sec_cr, "guest CR4 {:#x}: CET=1 needs CR0.WP=1 (CR0 {:#x})", g.cr4, g.cr0);
    if (m.load_debug && (g.debugctl & debugctl_reserved))
        return r.fail(sec_cr, "guest IA32_DEBUGCTL {:#x}: reserved bits {:#x} must be 0", g.debugctl,
                      g.debugctl & debugctl_reserved);
    if (m.ia32e && !(g.cr0 & cr0::pg))
        return r.fail(sec_cr, "guest CR0 {:#x}: PG must be 1 with the IA-32e mode guest entry control", g.cr0);
    if (m.ia32e && !(g.cr4 & cr4::pae))
        return r.fail(sec_cr, "guest CR4 {:#x}: PAE must be 1 with the IA-32e mode guest entry control", g.cr4);
    if (!m.ia32e && (g.cr4 & cr4::pcide))
        return r.fail(sec_cr, "guest CR4 {:#x}: PCIDE must be 0 without the IA-32e mode guest entry control", g.cr4);
    if (m.physical_bits < 64 && (g.cr3 >> m.physical_bits))
        return r.fail(sec_cr, "guest CR3 {:#x}: bits 63:{} must be 0 (physical-address width)", g.cr3, m.physical_bits);
    if (m.load_debug && (g.dr7 >> 32)) return r.fail(sec_cr, "guest DR7 {:#x}: bits 63:32 must be 0", g.dr7);
    if (!is_canonical(g.sysenter_esp, m.linear_bits))
        return r.fail(sec_cr, "guest IA32_SYSENTER_ESP {:#x}: must be canonical", g.sysenter_esp);
    if (!is_canonical(g.sysenter_eip, m.linear_bits))
        return r.fail(sec_cr, "guest IA32_SYSENTER_EIP {:#x}: must be canonical", g.sysenter_eip);
    if (m.load_pat) {
        for (unsigned i = 0; i < 8; ++i) {
            unsigned type = (g.pat >> (8 * i)) & 0xff;
            if (type != 0 && type != 1 && (type < 4 || type > 7))
                return r.fail(sec_cr, "guest IA32_PAT {:#x}: entry {} has memory type {}, not 0, 1, 4, 5, 6 or 7",
                              g.pat, i, type);
        }
    }
    if (m.load_efer) {
        if (g.efer & ~efer_defined)
            return r.fail(sec_cr, "guest IA32_EFER {:#x}: reserved bits {:#x} must be 0", g.efer,
                          g.efer & ~efer_defined);
        if (bool(g.efer & efer::lma) != m.ia32e)
            return r.fail(sec_cr, "guest IA32_EFER {:#x}: LMA must equal the IA-32e mode guest entry control ({})",
                          g.efer, unsigned(m.ia32e));
        if ((g.cr0 & cr0::pg) && bool(g.efer & efer::lme) != m.ia32e)
            return r.fail(
                sec_cr, "guest IA32_EFER {:#x}: LME must equal the IA-32e mode guest entry control ({}) when CR0.PG=1",
                g.efer, unsigned(m.ia32e));
    }
    return nullptr;
}

struct NamedSegment {
    const char* name;
    const Segment& s;
};

// G must agree with the limit: 0 unless limit bits 11:0 are all 1, 1 if any of bits 31:20 is 1.
const char* check_granularity(NamedSegment n, Report& r)
{
    bool g = n.s.access_rights & ar::g;
    if (g && (n.s.limit & 0xfff) != 0xfff)
        return r.fail(sec_segments,
                      "guest {} limit {:#x} with access rights {:#x}: G must be 0 unless limit bits 11:0 are all 1",
                      n.name, n.s.limit, n.s.access_rights);
    if (!g && (n.s.limit & 0xfff00000))
        return r.fail(sec_segments,
                      "guest {} limit {:#x} with access rights {:#x}: G must be 1 when limit bits 31:20 are not all 0",
                      n.name, n.s.limit, n.s.access_rights);
    return nullptr;
}

// The rules shared by every usable segment outside virtual-8086 mode: P, bits 11:8, G, bits 31:17.
const char* check_common_rights(NamedSegment n, Report& r)
{
    uint32_t a = n.s.access_rights;
    if (!(a & ar::p)) return r.fail(sec_segments, "guest {} access rights {:#x}: P must be 1", n.name, a);
    if (a & ar::reserved & 0xfff)
        return r.fail(sec_segments, "guest {} access rights {:#x}: bits 11:8 are reserved", n.name, a);
    if (const char* m = check_granularity(n, r)) return m;
    if (a & ar::reserved & ~0xfffu)
        return r.fail(sec_segments, "guest {} access rights {:#x}: bits 31:17 are reserved", n.name, a);
    return nullptr;
}

const char* check_segments(const GuestState& g, const Mode& m, Report& r)
{
    const NamedSegment cs{"CS", g.cs}, ss{"SS", g.ss}, ds{"DS", g.ds}, es{"ES", g.es}, fs{"FS", g.fs}, gs{"GS", g.gs},
        tr{"TR", g.tr}, ldtr{"LDTR", g.ldtr};
    const NamedSegment real[] = {cs, ss, ds, es, fs, gs};
    const NamedSegment data[] = {ds, es, fs, gs};
    const NamedSegment canonical_bases[] = {tr, fs, gs, ldtr};
    const NamedSegment high_zero_bases[] = {ss, ds, es};

    // Selectors.
    if (g.tr.selector & 4) return r.fail(sec_segments, "guest TR selector {:#x}: TI must be 0", g.tr.selector);
    if (usable(g.ldtr) && (g.ldtr.selector & 4))
        return r.fail(sec_segments, "guest LDTR selector {:#x}: TI must be 0 when LDTR is usable", g.ldtr.selector);
    if (!m.v86 && !m.unrestricted && (g.ss.selector & 3) != (g.cs.selector & 3))
        return r.fail(sec_segments,
                      "guest SS selector {:#x}: RPL must equal the CS selector's RPL {} (no unrestricted guest)",
                      g.ss.selector, g.cs.selector & 3);

    // Bases.
    if (m.v86)
        for (NamedSegment n : real)
            if (n.s.base != uint64_t(n.s.selector) << 4)
                return r.fail(sec_segments,
                              "guest {} base {:#x}: must be the selector {:#x} times 16 in virtual-8086 mode", n.name,
                              n.s.base, n.s.selector);
    for (NamedSegment n : canonical_bases) {
        if (&n.s == &g.ldtr && !usable(g.ldtr)) continue;
        if (!is_canonical(n.s.base, m.linear_bits))
            return r.fail(sec_segments, "guest {} base {:#x}: must be canonical", n.name, n.s.base);
    }
    if (g.cs.base >> 32) return r.fail(sec_segments, "guest CS base {:#x}: bits 63:32 must be 0", g.cs.base);
    for (NamedSegment n : high_zero_bases)
        if (usable(n.s) && (n.s.base >> 32))
            return r.fail(sec_segments, "guest {} base {:#x}: bits 63:32 must be 0", n.name, n.s.base);

    if (m.v86) {
        for (NamedSegment n : real)
            if (n.s.limit != 0xffff)
                return r.fail(sec_segments, "guest {} limit {:#x}: must be 0xffff in virtual-8086 mode", n.name,
                              n.s.limit);
        for (NamedSegment n : real)
            if (n.s.access_rights != 0xf3)
                return r.fail(sec_segments, "guest {} access rights {:#x}: must be 0xf3 in virtual-8086 mode", n.name,
                              n.s.access_rights);
    } else {
        // CS.
        uint32_t a = g.cs.access_rights;
        unsigned type = type_of(a);
        bool code_type = type == 9 || type == 11 || type == 13 || type == 15;
        if (!code_type && !(type == 3 && m.unrestricted))
            return r.fail(sec_segments,
                          "guest CS access rights {:#x}: type {} must be 9, 11, 13 or 15 (accessed code){}", a, type,
                          m.unrestricted ? Str(", or 3 with unrestricted guest") : Str(""));
        if (!(a & ar::s)) return r.fail(sec_segments, "guest CS access rights {:#x}: S must be 1 (code or data)", a);
        unsigned ss_dpl = dpl_of(g.ss.access_rights);
        if (type == 3 && dpl_of(a) != 0)
            return r.fail(sec_segments, "guest CS access rights {:#x}: DPL must be 0 for type 3", a);
        if ((type == 9 || type == 11) && dpl_of(a) != ss_dpl)
            return r.fail(sec_segments,
                          "guest CS access rights {:#x}: DPL {} must equal the SS DPL {} (non-conforming code)", a,
                          dpl_of(a), ss_dpl);
        if ((type == 13 || type == 15) && dpl_of(a) > ss_dpl)
            return r.fail(sec_segments,
                          "guest CS access rights {:#x}: DPL {} must not exceed the SS DPL {} (conforming code)", a,
                          dpl_of(a), ss_dpl);
        if (!(a & ar::p)) return r.fail(sec_segments, "guest CS access rights {:#x}: P must be 1", a);
        if (a & ar::reserved & 0xfff)
            return r.fail(sec_segments, "guest CS access rights {:#x}: bits 11:8 are reserved", a);
        if (m.ia32e && (a & ar::l) && (a & ar::db))
            return r.fail(sec_segments, "guest CS access rights {:#x}: D/B must be 0 when L=1 in IA-32e mode", a);
        if (const char* message = check_granularity(cs, r)) return message;
        if (a & ar::reserved & ~0xfffu)
            return r.fail(sec_segments, "guest CS access rights {:#x}: bits 31:17 are reserved", a);

        // SS: the DPL rules hold even when SS is unusable (its DPL is the CPL).
        a = g.ss.access_rights;
        if (usable(g.ss) && type_of(a) != 3 && type_of(a) != 7)
            return r.fail(sec_segments, "guest SS access rights {:#x}: type {} must be 3 or 7 (read/write data)", a,
                          type_of(a));
        if (!m.unrestricted && dpl_of(a) != (g.ss.selector & 3u))
            return r.fail(
                sec_segments,
                "guest SS access rights {:#x}: DPL {} must equal the selector's RPL {} (no unrestricted guest)", a,
                dpl_of(a), g.ss.selector & 3u);
        if ((type == 3 || !m.pe) && dpl_of(a) != 0)
            return r.fail(sec_segments, "guest SS access rights {:#x}: DPL must be 0 {}", a,
                          m.pe ? Str("when CS has type 3") : Str("when CR0.PE=0"));
        if (usable(g.ss)) {
            if (!(a & ar::s))
                return r.fail(sec_segments, "guest SS access rights {:#x}: S must be 1 (code or data)", a);
            if (const char* message = check_common_rights(ss, r)) return message;
        }

        for (NamedSegment n : data) {
            if (!usable(n.s)) continue;
            a = n.s.access_rights;
            type = type_of(a);
            if (!(type & 1))
                return r.fail(sec_segments, "guest {} access rights {:#x}: type {} must have the accessed bit (0) set",
                              n.name, a, type);
            if ((type & 8) && !(type & 2))
                return r.fail(sec_segments, "guest {} access rights {:#x}: code type {} must be readable", n.name, a,
                              type);
            if (!(a & ar::s))
                return r.fail(sec_segments, "guest {} access rights {:#x}: S must be 1 (code or data)", n.name, a);
            unsigned rpl = n.s.selector & 3u;
            if (!m.unrestricted && type <= 11 && dpl_of(a) < rpl)
                return r.fail(sec_segments,
                              "guest {} access rights {:#x}: DPL {} must not be below the selector's RPL {} (no "
                              "unrestricted guest)",
                              n.name, a, dpl_of(a), rpl);
            if (const char* message = check_common_rights(n, r)) return message;
        }
    }

    // TR.
    uint32_t a = g.tr.access_rights;
    if (m.ia32e && type_of(a) != 11)
        return r.fail(sec_segments, "guest TR access rights {:#x}: type {} must be 11 (busy 64-bit TSS) in IA-32e mode",
                      a, type_of(a));
    if (!m.ia32e && type_of(a) != 3 && type_of(a) != 11)
        return r.fail(sec_segments, "guest TR access rights {:#x}: type {} must be 3 or 11 (busy TSS)", a, type_of(a));
    if (a & ar::s) return r.fail(sec_segments, "guest TR access rights {:#x}: S must be 0 (system segment)", a);
    if (a & ar::unusable) return r.fail(sec_segments, "guest TR access rights {:#x}: TR must be usable", a);
    if (const char* message = check_common_rights(tr, r)) return message;

    // LDTR.
    a = g.ldtr.access_rights;
    if (usable(g.ldtr)) {
        if (type_of(a) != 2)
            return r.fail(sec_segments, "guest LDTR access rights {:#x}: type {} must be 2 (LDT)", a, type_of(a));
        if (a & ar::s) return r.fail(sec_segments, "guest LDTR access rights {:#x}: S must be 0 (system segment)", a);
        if (const char* message = check_common_rights(ldtr, r)) return message;
    }
    return nullptr;
}

const char* check_descriptor_tables(const GuestState& g, const Mode& m, Report& r)
{
    if (!is_canonical(g.gdtr_base, m.linear_bits))
        return r.fail(sec_tables, "guest GDTR base {:#x}: must be canonical", g.gdtr_base);
    if (!is_canonical(g.idtr_base, m.linear_bits))
        return r.fail(sec_tables, "guest IDTR base {:#x}: must be canonical", g.idtr_base);
    if (g.gdtr_limit >> 16) return r.fail(sec_tables, "guest GDTR limit {:#x}: bits 31:16 must be 0", g.gdtr_limit);
    if (g.idtr_limit >> 16) return r.fail(sec_tables, "guest IDTR limit {:#x}: bits 31:16 must be 0", g.idtr_limit);
    return nullptr;
}

const char* check_rip_rflags(const GuestState& g, const Mode& m, Report& r)
{
    bool long64 = m.ia32e && (g.cs.access_rights & ar::l);
    if (!long64 && (g.rip >> 32))
        return r.fail(sec_rip, "guest RIP {:#x}: bits 63:32 must be 0 outside 64-bit mode", g.rip);
    if (long64 && m.linear_bits < 64) {
        uint64_t high = g.rip >> m.linear_bits;
        if (high != 0 && high != (~0ull >> m.linear_bits))
            return r.fail(sec_rip, "guest RIP {:#x}: bits 63:{} must be identical in 64-bit mode", g.rip,
                          m.linear_bits);
    }
    if (g.rflags & rflags_reserved)
        return r.fail(sec_rip, "guest RFLAGS {:#x}: reserved bits {:#x} must be 0", g.rflags,
                      g.rflags & rflags_reserved);
    if (!(g.rflags & 2)) return r.fail(sec_rip, "guest RFLAGS {:#x}: bit 1 must be 1", g.rflags);
    if ((g.rflags & rflags_vm) && (m.ia32e || !m.pe))
        return r.fail(sec_rip, "guest RFLAGS {:#x}: VM must be 0 {}", g.rflags,
                      m.ia32e ? Str("in IA-32e mode") : Str("when CR0.PE=0"));
    if (m.injecting && m.event_type == interruption::external && !(g.rflags & rflags_if))
        return r.fail(sec_rip, "guest RFLAGS {:#x}: IF must be 1 to inject an external interrupt", g.rflags);
    return nullptr;
}

constexpr const char* activity_name(uint32_t state)
{
    switch (state) {
        case activity::active: return "active";
        case activity::hlt: return "HLT";
        case activity::shutdown: return "shutdown";
        case activity::wait_for_sipi: return "wait-for-SIPI";
    }
    return "?";
}

// Which injected events each activity state admits (SDM 27.3.1.5): HLT takes external
// interrupts, NMIs, #DB, #MC and pending MTF; shutdown NMIs and #MC; wait-for-SIPI nothing.
bool event_allowed(uint32_t state, uint32_t type, uint32_t vector)
{
    switch (state) {
        case activity::active: return true;
        case activity::hlt:
            return type == interruption::external || type == interruption::nmi ||
                   (type == interruption::hardware_exception && (vector == 1 || vector == 18)) ||
                   (type == interruption::other_event && vector == 0);
        case activity::shutdown:
            return type == interruption::nmi || (type == interruption::hardware_exception && vector == 18);
        default: return false;
    }
}

const char* check_non_register(const GuestState& g, const EntryContext& c, const CapabilityMsrs& caps, const Mode& m,
                               Report& r)
{
    uint32_t state = g.activity_state;
    uint32_t blocking = g.interruptibility;
    if (state > activity::wait_for_sipi) return r.fail(sec_non_register, "guest activity state {}: must be 0-3", state);
    if (state != activity::active && !bit(caps.misc, 5 + state))
        return r.fail(sec_non_register, "guest activity state {} ({}): not supported (IA32_VMX_MISC bit {} is 0)",
                      state, activity_name(state), 5 + state);
    if (state == activity::hlt && dpl_of(g.ss.access_rights) != 0)
        return r.fail(sec_non_register, "guest activity state 1 (HLT): needs SS DPL 0 (SS access rights {:#x})",
                      g.ss.access_rights);
    if (state != activity::active && (blocking & (interruptibility::sti | interruptibility::mov_ss)))
        return r.fail(sec_non_register,
                      "guest activity state {} ({}): must be active with blocking by STI or MOV SS (interruptibility "
                      "{:#x})",
                      state, activity_name(state), blocking);
    if (m.injecting && !event_allowed(state, m.event_type, m.event_vector))
        return r.fail(sec_non_register,
                      "guest activity state {} ({}): cannot take the injected event (interruption information {:#x})",
                      state, activity_name(state), c.interruption_info);

    if (blocking & ~0x1fu)
        return r.fail(sec_non_register, "guest interruptibility state {:#x}: bits 31:5 are reserved", blocking);
    bool sti = blocking & interruptibility::sti, mov_ss = blocking & interruptibility::mov_ss;
    if (sti && mov_ss)
        return r.fail(sec_non_register, "guest interruptibility state {:#x}: blocking by STI and by MOV SS together",
                      blocking);
    if (sti && !(g.rflags & rflags_if))
        return r.fail(sec_non_register,
                      "guest interruptibility state {:#x}: blocking by STI needs RFLAGS.IF=1 (RFLAGS {:#x})", blocking,
                      g.rflags);
    if ((sti || mov_ss) && m.injecting && m.event_type == interruption::external)
        return r.fail(sec_non_register,
                      "guest interruptibility state {:#x}: blocking by STI or MOV SS while injecting an external "
                      "interrupt",
                      blocking);
    if (mov_ss && m.injecting && m.event_type == interruption::nmi)
        return r.fail(sec_non_register, "guest interruptibility state {:#x}: blocking by MOV SS while injecting an NMI",
                      blocking);
    if (blocking & interruptibility::smi)
        return r.fail(sec_non_register, "guest interruptibility state {:#x}: blocking by SMI outside SMM", blocking);
    if ((blocking & interruptibility::nmi) && (c.pin & pin::virtual_nmis) && m.injecting &&
        m.event_type == interruption::nmi)
        return r.fail(sec_non_register,
                      "guest interruptibility state {:#x}: blocking by NMI while injecting an NMI with virtual NMIs",
                      blocking);
    if ((blocking & interruptibility::enclave) && mov_ss)
        return r.fail(sec_non_register,
                      "guest interruptibility state {:#x}: enclave interruption with blocking by MOV SS", blocking);

    uint64_t pending = g.pending_debug;
    if (pending & pending_reserved)
        return r.fail(sec_non_register, "guest pending debug exceptions {:#x}: reserved bits {:#x} must be 0", pending,
                      pending & pending_reserved);
    if (sti || mov_ss || state == activity::hlt) {
        bool single_step = (g.rflags & rflags_tf) && !(g.debugctl & 2);
        if (single_step && !(pending & pending_bs))
            return r.fail(sec_non_register,
                          "guest pending debug exceptions {:#x}: BS must be 1 with RFLAGS.TF=1 and "
                          "IA32_DEBUGCTL.BTF=0 under STI/MOV SS blocking or HLT",
                          pending);
        if (!single_step && (pending & pending_bs))
            return r.fail(sec_non_register,
                          "guest pending debug exceptions {:#x}: BS must be 0 with RFLAGS.TF=0 or IA32_DEBUGCTL.BTF=1 "
                          "under STI/MOV SS blocking or HLT",
                          pending);
    }
    if (pending & pending_rtm) {
        if (pending & (0xfffull | pending_bs))
            return r.fail(sec_non_register,
                          "guest pending debug exceptions {:#x}: RTM (bit 16) excludes bits 11:0 and 14", pending);
        if (mov_ss)
            return r.fail(sec_non_register,
                          "guest pending debug exceptions {:#x}: RTM (bit 16) excludes blocking by MOV SS", pending);
    }

    if (g.vmcs_link_pointer != ~0ull)
        return r.fail(sec_non_register,
                      "VMCS link pointer {:#x}: must be 0xffffffffffffffff (Matryoshka uses no VMCS shadowing)",
                      g.vmcs_link_pointer);
    return nullptr;
}

const char* check_pdptes(const GuestState& g, const Mode& m, Report& r)
{
    if (!m.ept || m.ia32e || !(g.cr0 & cr0::pg) || !(g.cr4 & cr4::pae)) return nullptr;
    for (unsigned i = 0; i < 4; ++i)
        if (!pdpte_valid(g.pdpte[i], m.physical_bits))
            return r.fail(sec_pdpte, "guest PDPTE{} {:#x}: present with reserved bits set (2:1, 8:5 or 63:{})", i,
                          g.pdpte[i], m.physical_bits);
    return nullptr;
}

GuestState common_state()
{
    GuestState g{};
    g.dr7 = 0x400;
    g.pat = default_pat;
    g.rflags = 0x2;
    g.vmcs_link_pointer = ~0ull;
    return g;
}

StartState real_mode_state(const CapabilityMsrs& caps, uint16_t cs_selector, uint64_t cs_base, uint64_t rip)
{
    constexpr uint64_t reset_cr0 = cr0::cd | cr0::nw | cr0::et;
    CrConfig config = make_cr_config(caps, 0);
    StartState s{common_state(), reset_cr0, 0};
    GuestState& g = s.guest;
    g.cr0 = cr0_actual(config, reset_cr0);
    g.cr4 = cr4_actual(config, 0);
    g.rip = rip;
    g.cs = {cs_selector, cs_base, 0xffff, 0x9b};
    g.ss = g.ds = g.es = g.fs = g.gs = {0, 0, 0xffff, 0x93};
    g.ldtr = {0, 0, 0xffff, 0x82};
    g.tr = {0, 0, 0xffff, 0x8b};
    g.gdtr_limit = g.idtr_limit = 0xffff;
    return s;
}

}  // namespace

const char* check_guest_state(const GuestState& g, const EntryContext& c, const CapabilityMsrs& caps, char* buffer,
                              size_t size)
{
    Report r(buffer, size);
    Mode m = mode_of(g, c);
    if (const char* message = check_controls(g, c, caps, m, r)) return message;
    if (const char* message = check_control_registers(g, caps, m, r)) return message;
    if (const char* message = check_segments(g, m, r)) return message;
    if (const char* message = check_descriptor_tables(g, m, r)) return message;
    if (const char* message = check_rip_rflags(g, m, r)) return message;
    if (const char* message = check_non_register(g, c, caps, m, r)) return message;
    return check_pdptes(g, m, r);
}

StartState multiboot_start_state(const CapabilityMsrs& caps, uint32_t entry)
{
    constexpr uint64_t multiboot_cr0 = cr0::pe | cr0::et;
    CrConfig config = make_cr_config(caps, 0);
    StartState s{common_state(), multiboot_cr0, 0};
    GuestState& g = s.guest;
    g.cr0 = cr0_actual(config, multiboot_cr0);
    g.cr4 = cr4_actual(config, 0);
    g.rip = entry;
    g.cs = {0x08, 0, 0xffffffff, 0xc09b};
    g.ss = g.ds = g.es = g.fs = g.gs = {0x10, 0, 0xffffffff, 0xc093};
    g.ldtr = {0, 0, 0, ar::unusable};
    g.tr = {0, 0, 0x67, 0x8b};
    return s;
}

StartState linux64_start_state(const CapabilityMsrs& caps, uint64_t entry, uint64_t cr3, uint64_t gdt_base,
                               uint16_t gdt_limit)
{
    constexpr uint64_t linux_cr0 = cr0::pe | cr0::et | cr0::pg, linux_cr4 = cr4::pae;
    CrConfig config = make_cr_config(caps, 0);
    StartState s{common_state(), linux_cr0, linux_cr4};
    GuestState& g = s.guest;
    g.cr0 = cr0_actual(config, linux_cr0);
    g.cr3 = cr3;
    g.cr4 = cr4_actual(config, linux_cr4);
    g.efer = efer::lme | efer::lma;
    g.rip = entry;
    g.cs = {0x10, 0, 0xffffffff, 0xa09b};
    g.ss = g.ds = g.es = g.fs = g.gs = {0x18, 0, 0xffffffff, 0xc093};
    g.ldtr = {0, 0, 0, ar::unusable};
    g.tr = {0, 0, 0x67, 0x8b};
    g.gdtr_base = gdt_base;
    g.gdtr_limit = gdt_limit;
    return s;
}

StartState linux32_start_state(const CapabilityMsrs& caps, uint32_t entry, uint64_t gdt_base, uint16_t gdt_limit)
{
    StartState s = multiboot_start_state(caps, entry);
    GuestState& g = s.guest;
    g.cs.selector = 0x10;
    g.ss.selector = g.ds.selector = g.es.selector = g.fs.selector = g.gs.selector = 0x18;
    g.gdtr_base = gdt_base;
    g.gdtr_limit = gdt_limit;
    return s;
}

StartState reset_start_state(const CapabilityMsrs& caps) { return real_mode_state(caps, 0xf000, 0xffff0000, 0xfff0); }

StartState sipi_start_state(const CapabilityMsrs& caps, uint8_t vector)
{
    return real_mode_state(caps, uint16_t(vector << 8), uint64_t(vector) << 12, 0);
}

}  // namespace vmx
