/* cpuid: what the guest sees of the CPU. Everywhere: a sane maximum basic leaf and vendor, leaf 1
 * with an on-chip APIC whose ID field (EBX[31:24]) matches the local APIC's ID register, extended
 * leaves with long mode. Under Matryoshka: the hypervisor-present bit (CPUID.1:ECX[31]), leaf
 * 0x40000000 with "KVMKVMKVM\0\0\0" and maximum leaf 0x40000001, whose feature bits are only
 * kvmclock's (3, and 24 when the TSC is stable) and steal time's (5), leaf 0x40000100 with
 * "MatryoshkaHV" and maximum leaf 0x40000101, VMX (CPUID.1:ECX[5]) and SMX hidden. Natively those print SKIP. */
#include "guest.h"

TEST("cpuid");

static int printable(u32 word)
{
    for (int i = 0; i < 4; ++i) {
        u8 c = (u8)(word >> (8 * i));
        if (c < 0x20 || c > 0x7e) return 0;
    }
    return 1;
}

/* The 12 characters of EBX, ECX, EDX, unprintable ones as '.'. */
static void signature(struct cpuid_regs r, char out[13])
{
    memcpy(out, &r.ebx, 4);
    memcpy(out + 4, &r.ecx, 4);
    memcpy(out + 8, &r.edx, 4);
    out[12] = 0;
    for (int i = 0; i < 12; ++i)
        if ((u8)out[i] < 0x20 || (u8)out[i] > 0x7e) out[i] = '.';
}

int main(void)
{
    struct cpuid_regs r0 = cpuid(0, 0);
    char vendor[13];
    memcpy(vendor, &r0.ebx, 4);
    memcpy(vendor + 4, &r0.edx, 4);
    memcpy(vendor + 8, &r0.ecx, 4);
    vendor[12] = 0;
    note("leaf 0: max basic leaf 0x%x, vendor \"%s\"", r0.eax, vendor);
    CHECK(r0.eax >= 1 && r0.eax < 0x100, "max basic leaf 0x%x is between 1 and 0xff", r0.eax);
    CHECK(printable(r0.ebx) && printable(r0.ecx) && printable(r0.edx), "vendor string is printable");

    struct cpuid_regs r1 = cpuid(1, 0);
    note("leaf 1: eax 0x%08x ebx 0x%08x ecx 0x%08x edx 0x%08x", r1.eax, r1.ebx, r1.ecx, r1.edx);
    CHECK(r1.edx & CPUID1_EDX_APIC, "leaf 1 EDX[9]: on-chip APIC");
    u32 cpuid_apic_id = r1.ebx >> 24;
    u32 lapic_id = lapic_read(LAPIC_ID) >> 24;
    CHECK(cpuid_apic_id == lapic_id, "leaf 1 EBX[31:24] APIC ID %u equals the local APIC ID register (%u)",
          cpuid_apic_id, lapic_id);
    CHECK(r1.edx & (1u << 4), "leaf 1 EDX[4]: TSC");
    CHECK(r1.edx & (1u << 5), "leaf 1 EDX[5]: RDMSR/WRMSR");

    struct cpuid_regs e0 = cpuid(0x80000000, 0);
    CHECK(e0.eax >= 0x80000001 && e0.eax < 0x80000100, "max extended leaf 0x%x is sane", e0.eax);
    if (e0.eax >= 0x80000001) {
        struct cpuid_regs e1 = cpuid(0x80000001, 0);
        CHECK(e1.edx & (1u << 29), "leaf 0x80000001 EDX[29]: long mode (the long_mode guest needs it)");
    }

    struct cpuid_regs kvm = cpuid(0x40000000, 0), own = cpuid(0x40000100, 0);
    char kvm_sig[13], sig[13];
    signature(kvm, kvm_sig);
    signature(own, sig);
    note("leaf 0x40000000: eax 0x%x signature \"%s\"", kvm.eax, kvm_sig);
    note("leaf 0x40000100: eax 0x%x signature \"%s\"", own.eax, sig);
    if (under_matryoshka()) {
        CHECK(r1.ecx & CPUID1_ECX_HYPERVISOR, "leaf 1 ECX[31]: hypervisor present");
        CHECK(!strcmp(sig, "MatryoshkaHV"), "leaf 0x40000100 signature is \"MatryoshkaHV\"");
        CHECK(own.eax == 0x40000101, "leaf 0x40000100 EAX (max leaf of the window) 0x%x", own.eax);
        CHECK(kvm.ebx == 0x4b4d564b && kvm.ecx == 0x564b4d56 && kvm.edx == 0x4d,
              "leaf 0x40000000 signature is \"KVMKVMKVM\\0\\0\\0\" (\"%s\")", kvm_sig);
        CHECK(kvm.eax == 0x40000001, "leaf 0x40000000 EAX (max KVM leaf) 0x%x", kvm.eax);
        struct cpuid_regs kvm_features = cpuid(0x40000001, 0);
        CHECK(kvm_features.eax & (1u << 3), "leaf 0x40000001 EAX[3]: KVM_FEATURE_CLOCKSOURCE2 (0x%x)",
              kvm_features.eax);
        /* CLOCKSOURCE2 (3), STEAL_TIME (5), PV_UNHALT (7), PV_SCHED_YIELD (13),
           CLOCKSOURCE_STABLE_BIT (24): what vmx/kvm_pv and vmx/hypercall implement. */
        const uint32_t implemented = (1u << 3) | (1u << 5) | (1u << 7) | (1u << 13) | (1u << 24);
        CHECK((kvm_features.eax & ((1u << 7) | (1u << 13))) == ((1u << 7) | (1u << 13)),
              "leaf 0x40000001 EAX[7], EAX[13]: KVM_FEATURE_PV_UNHALT and PV_SCHED_YIELD (0x%x)", kvm_features.eax);
        CHECK(!(kvm_features.eax & ~implemented) && !kvm_features.edx,
              "leaf 0x40000001 shows nothing else (EAX 0x%x, EDX 0x%x)", kvm_features.eax, kvm_features.edx);
        CHECK(!(r1.ecx & CPUID1_ECX_VMX), "leaf 1 ECX[5]: VMX hidden");
        CHECK(!(r1.ecx & CPUID1_ECX_SMX), "leaf 1 ECX[6]: SMX hidden");
    } else {
        skip_native("hypervisor bit (leaf 1 ECX[31] is %u)", r1.ecx >> 31);
        skip_native("\"MatryoshkaHV\" and \"KVMKVMKVM\" signatures");
        skip_native("VMX hidden (leaf 1 ECX[5] is %u)", (r1.ecx >> 5) & 1);
    }
    finish();
}
