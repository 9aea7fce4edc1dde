// The processor's checks on the guest-state area at VM entry (SDM Vol. 3C 27.3.1 "Checks on the
// Guest State Area"; 26.3.1 in SDMs before 2023), plus the control checks that involve guest
// state (event injection, unrestricted guest). Uses: (a) after VMLAUNCH/VMRESUME fails with exit
// reason 33 "VM-entry failure due to invalid guest state", to say which rule broke; (b) before an
// entry that follows emulated state changes, so a state an emulator accepts but silicon rejects
// is caught where it is made. Pure: the caller VMREADs the fields into a GuestState.
//
// Also the guest states Matryoshka starts VMs in, built to pass these checks.
#pragma once
#include <cstddef>
#include <cstdint>

#include "vmx/capabilities.hpp"

namespace vmx {

// Access rights in the VMX format (SDM Vol. 3C 25.4.1 "Guest Register State").
namespace ar {
constexpr uint32_t type_mask = 0xf, s = 1u << 4, dpl_shift = 5, p = 1u << 7, avl = 1u << 12, l = 1u << 13,
                   db = 1u << 14, g = 1u << 15, unusable = 1u << 16;
constexpr uint32_t reserved = 0xf00u | 0xfffe0000u;  // bits 11:8, 31:17
}  // namespace ar

struct Segment {
    uint16_t selector;
    uint64_t base;
    uint32_t limit;
    uint32_t access_rights;
};

struct GuestState {
    uint64_t cr0, cr3, cr4;  // the VMCS fields (with fixed bits applied), not the read shadows
    uint64_t dr7;
    uint64_t debugctl, efer, pat;
    uint32_t sysenter_cs;
    uint64_t sysenter_esp, sysenter_eip;
    uint64_t rip, rsp, rflags;
    Segment es, cs, ss, ds, fs, gs, ldtr, tr;  // the VMCS encoding order; keep it (vmcs_setup relies on it)
    uint64_t gdtr_base, idtr_base;
    uint32_t gdtr_limit, idtr_limit;
    uint32_t activity_state;     // 0 active, 1 HLT, 2 shutdown, 3 wait-for-SIPI
    uint32_t interruptibility;   // bit 0 STI, 1 MOV SS, 2 SMI, 3 NMI blocking, 4 enclave interruption
    uint64_t pending_debug;
    uint64_t vmcs_link_pointer;  // Matryoshka uses no VMCS shadowing: must be ~0
    uint64_t pdpte[4];           // checked with EPT when the guest uses PAE paging
};

namespace activity {
constexpr uint32_t active = 0, hlt = 1, shutdown = 2, wait_for_sipi = 3;
}
namespace interruptibility {
constexpr uint32_t sti = 1u << 0, mov_ss = 1u << 1, smi = 1u << 2, nmi = 1u << 3, enclave = 1u << 4;
}
// VM-entry interruption-information field (SDM Vol. 3C 25.8.3 "VM-Entry Controls for Event
// Injection").
namespace interruption {
constexpr uint32_t vector_mask = 0xff, type_shift = 8, type_mask = 7u << 8, deliver_error_code = 1u << 11,
                   valid = 1u << 31, reserved = 0x7ffff000u;
enum Type : uint32_t {
    external = 0, nmi = 2, hardware_exception = 3, software_interrupt = 4, privileged_software_exception = 5,
    software_exception = 6, other_event = 7
};
}  // namespace interruption

// The controls and processor properties VM entry checks the guest state against. The control
// words are the values in the VMCS (proc2 = 0 when secondary controls are not activated).
struct EntryContext {
    uint32_t pin;
    uint32_t proc;
    uint32_t proc2;
    uint32_t entry;
    uint32_t interruption_info;
    uint32_t exception_error_code;
    uint32_t instruction_length;
    uint8_t physical_address_bits;  // CPUID.80000008H:EAX[7:0]; 0 means 36
    uint8_t linear_address_bits;    // 48, or 57 when CPUID.(EAX=7,ECX=0):ECX.LA57 is 1; 0 means 48
};

// nullptr when every implemented rule passes; otherwise the first violated rule: the field, its
// value, the rule and the SDM section, written into `buffer` (truncated to `size`, always
// terminated) and `buffer` returned. Without a buffer, the SDM section of the rule is returned.
// The rules are implemented in the SDM's order; checks needing memory (the VMCS link pointer's
// target) or state outside the VMCS (SMM) are reduced to what Matryoshka uses (no shadowing, no
// SMM), and "load IA32_PERF_GLOBAL_CTRL/BNDCFGS/RTIT_CTL/CET/PKRS" guest fields are not checked.
const char* check_guest_state(const GuestState& guest, const EntryContext& context, const CapabilityMsrs& caps,
                              char* buffer, size_t size);

// A guest start state: the guest-state fields and the CR read shadows (what the guest reads back:
// the architectural values before the VMX fixed bits and the CD/NW rule of
// vmx/control_registers.hpp). The 32-bit and real-mode states need unrestricted guest (PE or PG
// is 0), which Matryoshka requires; their "IA-32e mode guest" entry control is 0.
struct StartState {
    GuestState guest;
    uint64_t cr0_read_shadow;
    uint64_t cr4_read_shadow;
};

// The Multiboot (1 and 2) handoff: 32-bit protected mode, paging off, flat 4 GiB CS (selector
// 0x08, AR 0xc09b) and data segments (0x10, AR 0xc093), CR0 = PE|ET, EFLAGS 0x2 with IF clear,
// a 32-bit busy TSS (AR 0x8b, limit 0x67) and no LDT. GDTR/IDTR are empty: the OS must load its
// own before reloading a segment register. The caller puts the magic in EAX and the boot
// information address in EBX.
StartState multiboot_start_state(const CapabilityMsrs& caps, uint32_t entry);
// Linux's 64-bit boot protocol (boot.rst "64-bit BOOT PROTOCOL"): long mode with paging (CR0 =
// PE|ET|PG, CR4 = PAE, EFER = LME|LMA) on the loader's identity page tables `cr3`, its GDT at
// `gdt_base` loaded, CS = __BOOT_CS 0x10 (64-bit, AR 0xa09b), DS = ES = SS = FS = GS = __BOOT_DS
// 0x18 (flat, AR 0xc093), EFLAGS 0x2 with IF clear. The caller puts the zero page in RSI; the
// "IA-32e mode guest" entry control follows from EFER.LMA.
StartState linux64_start_state(const CapabilityMsrs& caps, uint64_t entry, uint64_t cr3, uint64_t gdt_base,
                               uint16_t gdt_limit);
// Linux's 32-bit boot protocol (boot.rst "32-bit BOOT PROTOCOL"): protected mode with paging off
// (CR0 = PE|ET), the loader's GDT at `gdt_base` loaded, CS = __BOOT_CS 0x10 (flat 32-bit, AR
// 0xc09b), DS = ES = SS = FS = GS = __BOOT_DS 0x18, EFLAGS 0x2 with IF clear. The caller puts
// the zero page in ESI (EBP, EDI and EBX stay 0).
StartState linux32_start_state(const CapabilityMsrs& caps, uint32_t entry, uint64_t gdt_base, uint16_t gdt_limit);
// The processor after RESET (SDM Vol. 3A 10.1.1 "Processor State After Reset", Table 10-1):
// real mode at F000:FFF0 with CS base 0xffff0000, CR0 0x60000010, DR7 0x400. TR is a busy
// 32-bit TSS (AR 0x8b) instead of the reset state's type, which VM entry does not accept.
StartState reset_start_state(const CapabilityMsrs& caps);
// An application processor after INIT and a SIPI with `vector`: real mode at vector:0000
// (CS selector vector << 8, base vector << 12), otherwise the reset state.
StartState sipi_start_state(const CapabilityMsrs& caps, uint8_t vector);

// Canonical for a processor with `bits` linear-address bits: bits 63:bits-1 all equal.
constexpr bool is_canonical(uint64_t address, unsigned bits)
{
    return int64_t(address << (64 - bits)) >> (64 - bits) == int64_t(address);
}

}  // namespace vmx
