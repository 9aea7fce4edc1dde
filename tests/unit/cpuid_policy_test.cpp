#include "vmx/cpuid_policy.hpp"

#include <gtest/gtest.h>

#include <string>

#include <ostream>

#include "tests/unit/vmx_fixtures.hpp"
#include "vmx/control_registers.hpp"

using namespace vmx;
using namespace vmx::fixtures;

namespace vmx {
void PrintTo(const CpuidRegs& r, std::ostream* os)
{
    *os << std::hex << "{" << r.eax << ", " << r.ebx << ", " << r.ecx << ", " << r.edx << "}";
}
}  // namespace vmx

namespace {

// vCPU 2 of a 4-vCPU VM on the i7-5600U, with RDTSCP and INVPCID enabled.
CpuidView view(uint32_t vcpus = 4, uint32_t apic_id = 2, uint64_t cr4_value = 0)
{
    return CpuidView{vcpus, apic_id, cr4_value, 0x14, 0x80000008, true, true};
}

// What the exit handler does: query the host as told, then apply the policy. A host query that
// was not asked for returns garbage, so answers that claim not to need the host are checked.
CpuidRegs ask(uint32_t leaf, uint32_t subleaf, const CpuidView& vm,
              CpuidRegs (*host)(uint32_t, uint32_t) = broadwell_host_cpuid)
{
    CpuidQuery q = host_query(leaf, subleaf, vm);
    CpuidRegs regs = q.needed ? host(q.leaf, q.subleaf) : CpuidRegs{0xdeadbeef, 0xdeadbeef, 0xdeadbeef, 0xdeadbeef};
    return guest_cpuid(leaf, subleaf, regs, vm);
}

constexpr uint32_t bit(unsigned n) { return 1u << n; }

}  // namespace

TEST(CpuidPolicy, VendorAndHighestBasicLeaf)
{
    EXPECT_EQ(ask(0, 0, view()), (CpuidRegs{0x14, 0x756e6547, 0x6c65746e, 0x49656e69}));
}

TEST(CpuidPolicy, Leaf1)
{
    CpuidRegs r = ask(1, 0, view());
    EXPECT_EQ(r.eax, 0x000306d4u);  // family 6 model 0x3d stepping 4, passed through
    // APIC ID 2, 4 addressable logical processors, CLFLUSH line 8 * 8 bytes, brand index 0.
    EXPECT_EQ(r.ebx, 0x02040800u);
    // Host 0x7ffafbff without DTES64, MONITOR, DS-CPL, VMX, SMX, EIST, TM2, SDBG, xTPR, PDCM,
    // OSXSAVE (guest CR4.OSXSAVE=0); with the hypervisor bit. x2APIC and TSC-deadline stay set.
    EXPECT_EQ(r.ecx, 0xf7fa3203u);
    // Host 0xbfebfbff without MCE, MCA, DS, ACPI, TM, PBE; HTT for 4 vCPUs.
    EXPECT_EQ(r.edx, 0x1f8bbb7fu);
    for (uint32_t hidden : {bit(3), bit(5), bit(6)}) EXPECT_EQ(r.ecx & hidden, 0u);  // MONITOR, VMX, SMX
    EXPECT_EQ(r.ecx & bit(31), bit(31));
}

TEST(CpuidPolicy, Leaf1OsxsaveFollowsTheGuestCr4)
{
    EXPECT_EQ(ask(1, 0, view(4, 2, cr4::osxsave)).ecx, 0xfffa3203u);
    CpuidRegs host_without_xsave = broadwell_host_cpuid(1, 0);
    host_without_xsave.ecx &= ~bit(26);
    EXPECT_EQ(guest_cpuid(1, 0, host_without_xsave, view(4, 2, cr4::osxsave)).ecx & (bit(26) | bit(27)), 0u);
}

TEST(CpuidPolicy, Leaf1ShowsEmulatedApicFeaturesEvenWithoutHostSupport)
{
    CpuidRegs host{0x000206c2, 0x00200800, 0x029ee3ff, 0xbfebfbff};  // Westmere: no x2APIC, no TSC-deadline
    CpuidRegs r = guest_cpuid(1, 0, host, view());
    EXPECT_EQ(r.ecx & (bit(21) | bit(24) | bit(31)), bit(21) | bit(24) | bit(31));
    EXPECT_EQ(r.edx & bit(9), bit(9));
}

TEST(CpuidPolicy, TopologyForOneVcpu)
{
    CpuidView one = view(1, 0);
    CpuidRegs r = ask(1, 0, one);
    EXPECT_EQ(r.ebx, 0x00010800u);
    EXPECT_EQ(r.edx & bit(28), 0u);  // no HTT
    EXPECT_EQ(ask(4, 0, one).eax, 0x00000121u);
    EXPECT_EQ(ask(4, 3, one).eax, 0x00000163u);
    EXPECT_EQ(ask(0xb, 0, one), (CpuidRegs{0, 1, 0x100, 0}));
    EXPECT_EQ(ask(0xb, 1, one), (CpuidRegs{0, 1, 0x201, 0}));
}

TEST(CpuidPolicy, TopologyForFourVcpus)
{
    // Leaf 4: 4 cores a package (EAX[31:26] = 3); L1d/L1i/L2 private, L3 shared by all 4.
    EXPECT_EQ(ask(4, 0, view()), (CpuidRegs{0x0c000121, 0x01c0003f, 0x3f, 0}));
    EXPECT_EQ(ask(4, 1, view()).eax, 0x0c000122u);
    EXPECT_EQ(ask(4, 2, view()).eax, 0x0c000143u);
    EXPECT_EQ(ask(4, 3, view()), (CpuidRegs{0x0c00c163, 0x03c0003f, 0xfff, 6}));
    EXPECT_EQ(ask(4, 4, view()), (CpuidRegs{0, 0, 0, 0}));
    // Leaf 0xB: SMT level with 1 thread, core level with 4 cores (shift 2), then the end.
    EXPECT_EQ(ask(0xb, 0, view()), (CpuidRegs{0, 1, 0x100, 2}));
    EXPECT_EQ(ask(0xb, 1, view()), (CpuidRegs{2, 4, 0x201, 2}));
    EXPECT_EQ(ask(0xb, 2, view()), (CpuidRegs{0, 0, 2, 2}));
    EXPECT_EQ(ask(0xb, 7, view()), (CpuidRegs{0, 0, 7, 2}));
}

TEST(CpuidPolicy, TopologyForSixVcpusRoundsToPowersOfTwo)
{
    CpuidView six = view(6, 5);
    EXPECT_EQ(ask(1, 0, six).ebx, 0x05080800u);
    EXPECT_EQ(ask(4, 0, six).eax, 0x1c000121u);
    EXPECT_EQ(ask(4, 3, six).eax, 0x1c01c163u);
    EXPECT_EQ(ask(0xb, 1, six), (CpuidRegs{3, 6, 0x201, 5}));
}

TEST(CpuidPolicy, TopologyWithManyVcpusSaturates)
{
    CpuidView many = view(300, 260);
    EXPECT_EQ(ask(1, 0, many).ebx, 0x04ff0800u);        // 512 addressable IDs capped at 255; APIC ID low byte
    EXPECT_EQ(ask(4, 0, many).eax >> 26, 63u);
    EXPECT_EQ(ask(0xb, 1, many), (CpuidRegs{9, 300, 0x201, 260}));
}

TEST(CpuidPolicy, HiddenLeaves)
{
    EXPECT_EQ(ask(5, 0, view()), (CpuidRegs{0, 0, 0, 0}));   // MONITOR/MWAIT
    EXPECT_EQ(ask(6, 0, view()), (CpuidRegs{4, 0, 0, 0}));   // ARAT only
    EXPECT_EQ(ask(0xa, 0, view()), (CpuidRegs{0, 0, 0, 0})); // perfmon
    EXPECT_EQ(ask(0x14, 0, view()), (CpuidRegs{0, 0, 0, 0})); // Intel PT
    EXPECT_EQ(ask(3, 0, view()), (CpuidRegs{0, 0, 0, 0}));
    for (uint32_t leaf : {3u, 5u, 6u, 0xau, 0xbu, 0x12u, 0x14u}) EXPECT_FALSE(host_query(leaf, 0, view()).needed);
    for (uint32_t leaf : {0u, 1u, 2u, 4u, 7u, 0xdu, 0x80000001u, 0x80000008u})
        EXPECT_TRUE(host_query(leaf, 0, view()).needed);
}

TEST(CpuidPolicy, Leaf7)
{
    // Host 0x021c2fbb without HLE, RTM and Intel PT; SMEP, SMAP, FSGSBASE, INVPCID, TSC_ADJUST,
    // AVX2, BMI, ERMS, RDSEED, ADX kept.
    EXPECT_EQ(ask(7, 0, view()), (CpuidRegs{0, 0x001c27ab, 0, 0}));
    EXPECT_EQ(ask(7, 1, view()), (CpuidRegs{0, 0, 0, 0}));
    CpuidView no_invpcid = view();
    no_invpcid.invpcid = false;
    EXPECT_EQ(ask(7, 0, no_invpcid).ebx, 0x001c23abu);
}

TEST(CpuidPolicy, Leaf7SpeculationControlAndNewerFeatures)
{
    // A newer part: leaf 7 with subleaf 1, PKU/OSPKE, WAITPKG, RDPID, LA57, SGX, CET, speculation
    // control (IBRS/IBPB, STIBP, L1D_FLUSH, ARCH_CAPABILITIES, SSBD), MD_CLEAR, AMX, hybrid.
    CpuidRegs host0{1, 0x021c2fbf, 0x0041009d | bit(5), 0x9c000400 | bit(15) | bit(29) | bit(24)};
    CpuidRegs r = guest_cpuid(7, 0, host0, view());
    EXPECT_EQ(r.eax, 1u);
    EXPECT_EQ(r.ebx, 0x001c27abu);  // SGX (bit 2) dropped too
    // PKU (3), UMIP (2), LA57 (16), RDPID (22) kept; PREFETCHWT1 (0) kept; WAITPKG (5), CET_SS (7)
    // dropped; OSPKE (4) only with the guest's CR4.PKE.
    EXPECT_EQ(r.ecx, 0x0041000du);
    EXPECT_EQ(guest_cpuid(7, 0, host0, view(4, 2, cr4::pke)).ecx, 0x0041001du);
    // MD_CLEAR, IBRS/IBPB, STIBP, SSBD kept; L1D_FLUSH, ARCH_CAPABILITIES, HYBRID, AMX dropped.
    EXPECT_EQ(r.edx, 0x8c000400u);
    CpuidView no_rdtscp = view();
    no_rdtscp.rdtscp = false;
    EXPECT_EQ(guest_cpuid(7, 0, host0, no_rdtscp).ecx & bit(22), 0u);

    CpuidRegs host1{0x00401c30 | bit(26), 0, 0, 0};  // AVX-VNNI, BF16, fast string ops, HRESET, LAM
    EXPECT_EQ(guest_cpuid(7, 1, host1, view()), (CpuidRegs{0x1c30, 0, 0, 0}));
    EXPECT_EQ(guest_cpuid(7, 2, host1, view()), (CpuidRegs{0, 0, 0, 0}));
}

TEST(CpuidPolicy, XsaveLeaf)
{
    EXPECT_EQ(ask(0xd, 0, view()), (CpuidRegs{7, 0x340, 0x340, 0}));
    EXPECT_EQ(ask(0xd, 1, view()), (CpuidRegs{1, 0, 0, 0}));
    EXPECT_EQ(ask(0xd, 2, view()), (CpuidRegs{0x100, 0x240, 0, 0}));
    // A host with MPX, AVX-512, PT, PKRU, AMX and XSAVES: MPX, PT, AMX and XSAVES are hidden.
    CpuidRegs host0{0x602ff, 0xa88, 0x2b00, 0};
    EXPECT_EQ(guest_cpuid(0xd, 0, host0, view()), (CpuidRegs{0x2e7, 0xa88, 0x2b00, 0}));
    EXPECT_EQ(guest_xcr0_allowed(guest_cpuid(0xd, 0, host0, view())), 0x2e7u);
    CpuidRegs host1{0xf, 0x988, 0x1900, 0};
    EXPECT_EQ(guest_cpuid(0xd, 1, host1, view()), (CpuidRegs{0x7, 0x988, 0, 0}));
    CpuidRegs component{0x40, 0x3c0, 0, 0};
    EXPECT_EQ(guest_cpuid(0xd, 3, component, view()), (CpuidRegs{0, 0, 0, 0}));   // MPX BNDREGS
    EXPECT_EQ(guest_cpuid(0xd, 5, component, view()), component);                 // opmask
    EXPECT_EQ(guest_cpuid(0xd, 9, component, view()), component);                 // PKRU
    EXPECT_EQ(guest_cpuid(0xd, 17, component, view()), (CpuidRegs{0, 0, 0, 0}));  // AMX TILECFG
    EXPECT_EQ(guest_cpuid(0xd, 63, component, view()), (CpuidRegs{0, 0, 0, 0}));
}

namespace {

std::string signature_of(const CpuidRegs& r)
{
    char signature[13] = {};
    for (int i = 0; i < 4; ++i) {
        signature[i] = char(r.ebx >> (8 * i));
        signature[4 + i] = char(r.ecx >> (8 * i));
        signature[8 + i] = char(r.edx >> (8 * i));
    }
    return std::string(signature, 12);
}

}  // namespace

TEST(CpuidPolicy, HypervisorLeaves)
{
    // KVM's window first, where an unmodified Linux looks.
    CpuidRegs kvm = ask(0x40000000, 0, view());
    EXPECT_EQ(kvm.eax, 0x40000001u);
    EXPECT_EQ(signature_of(kvm), std::string("KVMKVMKVM\0\0\0", 12));
    // KVM_FEATURE_CLOCKSOURCE2, STEAL_TIME, PV_UNHALT, PV_SCHED_YIELD.
    EXPECT_EQ(ask(0x40000001, 0, view()), (CpuidRegs{(1u << 3) | (1u << 5) | (1u << 7) | (1u << 13), 0, 0, 0}));
    CpuidView stable = view();
    stable.kvm_features = kvm_feature::clocksource2 | kvm_feature::clocksource_stable;
    EXPECT_EQ(ask(0x40000001, 0, stable), (CpuidRegs{(1u << 3) | (1u << 24), 0, 0, 0}));
    // Matryoshka's own window at 0x40000100.
    CpuidRegs own = ask(0x40000100, 0, view());
    EXPECT_EQ(own, (CpuidRegs{0x40000101, 0x7274614d, 0x68736f79, 0x5648616b}));
    EXPECT_EQ(signature_of(own), "MatryoshkaHV");
    EXPECT_EQ(ask(0x40000101, 0, view()), (CpuidRegs{hv_feature::console, 0, 0, 0}));
    CpuidView no_features = view();
    no_features.hypervisor_features = 0;
    no_features.kvm_features = 0;
    EXPECT_EQ(ask(0x40000101, 0, no_features), (CpuidRegs{0, 0, 0, 0}));
    EXPECT_EQ(ask(0x40000001, 0, no_features), (CpuidRegs{0, 0, 0, 0}));
    for (uint32_t leaf : {0x40000002u, 0x400000ffu, 0x40000102u, 0x400001ffu})
        EXPECT_EQ(ask(leaf, 3, view()), (CpuidRegs{0, 0, 0, 0})) << std::hex << leaf;
    for (uint32_t leaf : {0x40000000u, 0x400000ffu, 0x40000100u, 0x400001ffu})
        EXPECT_FALSE(host_query(leaf, 0, view()).needed) << std::hex << leaf;
}

TEST(CpuidPolicy, OutOfRangeLeavesReadAsTheHighestBasicLeaf)
{
    for (uint32_t leaf : {0x15u, 0x1fu, 0x20u, 0x40000200u, 0x7fffffffu, 0x80000009u, 0xc0000000u, 0xffffffffu}) {
        CpuidQuery q = host_query(leaf, 1, view());
        EXPECT_EQ(q.leaf, 0x14u) << std::hex << leaf;
        EXPECT_EQ(q.subleaf, 1u);
        EXPECT_EQ(ask(leaf, 1, view()), ask(0x14, 1, view())) << std::hex << leaf;
    }
    // On a Westmere-class host (highest basic leaf 0xB) the highest leaf is the topology leaf,
    // so an out-of-range query returns its subleaf's data.
    CpuidView westmere = view();
    westmere.host_max_basic = 0xb;
    EXPECT_EQ(ask(0, 0, westmere).eax, 0xbu);
    EXPECT_EQ(ask(0xd, 1, westmere), (CpuidRegs{2, 4, 0x201, 2}));
    EXPECT_EQ(ask(0x40000200, 0, westmere), (CpuidRegs{0, 1, 0x100, 2}));
    EXPECT_EQ(host_query(0xd, 1, westmere).leaf, 0xbu);
    // The highest basic leaf is capped at 0x1F, which a newer host serves as topology.
    CpuidView newer = view();
    newer.host_max_basic = 0x23;
    EXPECT_EQ(guest_cpuid(0, 0, CpuidRegs{0x23, 1, 2, 3}, newer), (CpuidRegs{0x1f, 1, 2, 3}));
    EXPECT_EQ(ask(0x1f, 1, newer), (CpuidRegs{2, 4, 0x201, 2}));
    EXPECT_EQ(ask(0x23, 0, newer), (CpuidRegs{0, 1, 0x100, 2}));
}

TEST(CpuidPolicy, ExtendedLeaves)
{
    EXPECT_EQ(ask(0x80000000, 0, view()), (CpuidRegs{0x80000008, 0, 0, 0}));
    // LAHF, LZCNT, PREFETCHW; SYSCALL, NX, 1-GByte pages, RDTSCP, LM.
    EXPECT_EQ(ask(0x80000001, 0, view()), (CpuidRegs{0, 0, 0x121, 0x2c100800}));
    CpuidView no_rdtscp = view();
    no_rdtscp.rdtscp = false;
    EXPECT_EQ(ask(0x80000001, 0, no_rdtscp).edx, 0x24100800u);
    EXPECT_EQ(ask(0x80000002, 0, view()), (CpuidRegs{0x65746e49, 0x2952286c, 0x726f4320, 0x4d542865}));
    EXPECT_EQ(ask(0x80000006, 0, view()), (CpuidRegs{0, 0, 0x01006040, 0}));
    EXPECT_EQ(ask(0x80000007, 0, view()), (CpuidRegs{0, 0, 0, 0x100}));  // invariant TSC
    EXPECT_EQ(ask(0x80000008, 0, view()), (CpuidRegs{0x3027, 0, 0, 0}));  // 39 physical, 48 linear bits
    // A host with a larger extended range is capped at 0x80000008.
    CpuidView amd_like = view();
    amd_like.host_max_extended = 0x80000021;
    EXPECT_EQ(guest_cpuid(0x80000000, 0, CpuidRegs{0x80000021, 0, 0, 0}, amd_like).eax, 0x80000008u);
    EXPECT_EQ(host_query(0x80000021, 0, amd_like).leaf, 0x14u);
    // WBNOINVD and the guest physical-address size (EAX[23:16]) are not shown.
    EXPECT_EQ(guest_cpuid(0x80000008, 0, CpuidRegs{0x303027, 0x200, 0, 0}, view()), (CpuidRegs{0x3027, 0, 0, 0}));
}

TEST(CpuidPolicy, Cr4AllowedByTheGuestCpuid)
{
    uint64_t allowed = guest_cr4_allowed(ask(1, 0, view()), ask(7, 0, view()));
    // VME, PVI, TSD, DE, PSE, PAE, PGE, PCE, OSFXSR, OSXMMEXCPT, FSGSBASE, PCIDE, OSXSAVE, SMEP,
    // SMAP; not MCE (hidden), VMXE, SMXE, UMIP, LA57, PKE.
    EXPECT_EQ(allowed, 0x3707bfu);
    CrConfig config = make_cr_config(broadwell, allowed);
    EXPECT_EQ(config.cr4_allowed, 0x3707bfu);
    // The host's own CPUID would allow VMXE, SMXE and MCE.
    uint64_t host = guest_cr4_allowed(broadwell_host_cpuid(1, 0), broadwell_host_cpuid(7, 0));
    EXPECT_EQ(host, 0x3767ffu);
    // Newer features.
    CpuidRegs l7{0, 0, bit(2) | bit(3) | bit(16) | bit(7) | bit(31), bit(5)};
    EXPECT_EQ(guest_cr4_allowed(CpuidRegs{}, l7),
              cr4::pce | cr4::tsd | cr4::umip | cr4::pke | cr4::la57 | cr4::cet | cr4::pks | cr4::uintr);
}

// With the TSC frequency known, leaves 0x15 and 0x16 report it (crystal = TSC, ratio 1/1) and
// exist even where the host stops below them; leaves between are zero, never the host's.
TEST(CpuidPolicy, TscFrequencyLeaves)
{
    CpuidView vm = view();
    vm.tsc_hz = 2600000000;
    EXPECT_EQ(ask(0, 0, vm).eax, 0x16u);
    EXPECT_EQ(ask(0x15, 0, vm), (CpuidRegs{1, 1, 2600000000u, 0}));
    EXPECT_EQ(ask(0x16, 0, vm), (CpuidRegs{2600, 2600, 2600, 0}));
    EXPECT_FALSE(host_query(0x15, 0, vm).needed);
    EXPECT_EQ(ask(0x17, 0, vm), ask(0x16, 0, vm));  // out of range: the highest basic leaf

    CpuidView westmere = vm;
    westmere.host_max_basic = 0xb;
    westmere.tsc_hz = 50000000;  // Bochs
    EXPECT_EQ(ask(0, 0, westmere).eax, 0x16u);
    EXPECT_EQ(ask(0x15, 0, westmere), (CpuidRegs{1, 1, 50000000u, 0}));
    EXPECT_EQ(ask(0xd, 0, westmere), (CpuidRegs{0, 0, 0, 0}));
    EXPECT_FALSE(host_query(0xd, 0, westmere).needed);
    EXPECT_EQ(ask(0xb, 1, westmere), ask(0xb, 1, vm));  // still the topology

    CpuidView fast = vm;
    fast.tsc_hz = 5000000000ull;  // does not fit ECX: not enumerated
    EXPECT_EQ(ask(0x15, 0, fast), (CpuidRegs{1, 1, 0, 0}));
    EXPECT_EQ(ask(0x16, 0, fast).eax, 5000u);
}
