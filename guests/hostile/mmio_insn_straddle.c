/* hostile mmio_insn_straddle: an MMIO instruction whose bytes straddle a page that it then unmaps.
 * hardware: MOV EAX, [0xFEE00030] (A1 + moffs32, 5 bytes) starts 2 bytes before the end of a code
 * page; the next page is then made not present without INVLPG. The processor may still use a
 * stale TLB entry or walk the tables again (SDM Vol. 3A 4.10.4.3): it either runs the instruction
 * or raises #PF on the fetch with CR2 = the second page and error code 0 (not present, read,
 * supervisor; I/D only with EFER.NXE = 1, SDM Vol. 3A 4.7). Under Matryoshka the APIC access
 * exits and the emulator re-reads the instruction through the guest's tables: it must give the
 * guest that #PF, never run bytes it could not read, never end the VM.
 * expect: contained
 * The instruction is copied to RAM pages mapped at linear 0x40000000/0x40001000 (PAE); a first
 * call must return the version; each of 20 calls after the unmapping must fault exactly so. */
#include "guest.h"

TEST("mmio_insn_straddle");

#define W 0x40000000u

static u8 code[2][4096] __attribute__((aligned(4096)));

static void call_it(void *arg) { *(u32 *)arg = ((u32 (*)(void))(W + 4094))(); }

int main(void)
{
    static const u8 insn[] = {0xa1, 0x30, 0x00, 0xe0, 0xfe, 0xc3}; /* mov eax, [0xfee00030]; ret */
    memcpy(&code[0][4094], insn, 2);
    memcpy(&code[1][0], insn + 2, sizeof insn - 2);
    paging_enable_pae();
    u64 *second = paging_pte(W + 4096);
    *paging_pte(W) = (u32)(uintptr_t)code[0] | PTE_P | PTE_W;
    *second = (u32)(uintptr_t)code[1] | PTE_P | PTE_W;
    paging_flush();
    u32 version = 0;
    int faulted = try_call(call_it, &version);
    CHECK(!faulted && version == lapic_read(LAPIC_VERSION), "mapped: the straddling load reads the version 0x%x", version);
    u32 right = 0;
    for (u32 i = 0; i < 20; ++i) {
        *second = (u32)(uintptr_t)code[1] | PTE_P | PTE_W;
        invlpg(W + 4096);
        (void)try_call(call_it, &version); /* the TLB holds both pages now */
        *second = 0;                       /* no INVLPG */
        right += expect_fault(14, call_it, &version) && last_fault.cr2 == W + 4096 && last_fault.error == 0;
    }
    CHECK(right == 20, "unmapped without INVLPG: #PF with CR2 0x%x and error 0 in %u of 20 calls (last CR2 0x%x error 0x%x)",
          W + 4096, right, last_fault.cr2, last_fault.error);
    finish();
}
