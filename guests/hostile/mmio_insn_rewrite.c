/* hostile mmio_insn_rewrite: a guest that changes its own code under the MMIO emulator.
 * hardware: code that another processor modifies without serialising runs either the old or the
 *   new instruction (SDM Vol. 3A 8.1.3, cross-modifying code), and a code page remapped without
 *   INVLPG runs from the old or the new page (SDM Vol. 3A 4.10.4.3): never a mix. Each load below
 *   therefore gives exactly what one of its two versions gives. Under Matryoshka the LAPIC load
 *   exits and the emulator reads the bytes again, which may by then be the other version: if they
 *   no longer make the exit's access it must resume the guest unemulated so the processor fetches
 *   them again (flushing the vCPU's TLB, bounded), never emulate the wrong access or end the VM.
 * expect: contained
 * run: vcpus=2
 * Cross-modifying: vCPU 1 keeps flipping one byte of each of four routines while vCPU 0 calls
 * them, MOV_ITERATIONS times each: (a) MOV EAX vs MOV EBX, [0xFEE00030] (ModRM 05/1D): the
 * version in exactly one of the two; (b) MOV EAX, [0xFEE00030] vs [0xFEE00080] (moffs 30/80):
 * the version or the TPR; (c) MOV EAX, [0xFEE00030] vs MOV EAX, 0xFEE00030 (opcode A1/B8): the
 * version or the immediate; (d) the MOV vs RET (A1/C3, an instruction the emulator does not
 * know): the version or EAX unchanged. Self-modifying through a stale TLB (deterministic on one
 * CPU): linear W maps the page holding (b)'s, (c)'s or (d)'s first version, a call fills the TLB, then W is
 * remapped to the page holding the second version without INVLPG: the processor may fetch the
 * first while the emulator's page walk reads the second. */
#include "vcpus.h"

TEST("mmio_insn_rewrite");

#define MOV_ITERATIONS 500
#define TLB_ITERATIONS 20
#define SENTINEL 0x5a5a5a5au
#define TPR_VALUE 0x10u /* priority class 1: masks no vector an APIC delivers */
#define W 0x40000000u

/* mov r32, [0xfee00030]; ret. flip_at is the byte vCPU 1 rewrites, between first and second. */
struct routine {
    u8 code[15];
    u8 flip_at, first, second;
};

static struct routine by_register = {{0x8b, 0x05, 0x30, 0x00, 0xe0, 0xfe, 0xc3}, 1, 0x05, 0x1d};
static struct routine by_address = {{0xa1, 0x30, 0x00, 0xe0, 0xfe, 0xc3}, 1, 0x30, 0x80};
static struct routine by_kind = {{0xa1, 0x30, 0x00, 0xe0, 0xfe, 0xc3}, 0, 0xa1, 0xb8};
static struct routine by_return = {{0xa1, 0x30, 0x00, 0xe0, 0xfe, 0xc3}, 0, 0xa1, 0xc3};
static struct routine *const routines[] = {&by_register, &by_address, &by_kind, &by_return};
#define ROUTINES (sizeof routines / sizeof routines[0])

static volatile u32 reader_done;
static u32 version;

static void call_routine(const u8 *code, u32 *eax, u32 *ebx)
{
    u32 a = SENTINEL, b = SENTINEL;
    __asm__ volatile("call *%2" : "+a"(a), "+b"(b) : "r"(code) : "memory", "cc");
    *eax = a;
    *ebx = b;
}

/* What either version of `r` may leave in EAX/EBX. */
static int one_version(const struct routine *r, u32 eax, u32 ebx)
{
    if (r == &by_register) return (eax == version && ebx == SENTINEL) || (eax == SENTINEL && ebx == version);
    u32 other = r == &by_address ? TPR_VALUE : r == &by_kind ? LAPIC_BASE + LAPIC_VERSION : SENTINEL;
    return ebx == SENTINEL && (eax == version || eax == other);
}

static void flip_bytes(void)
{
    while (!reader_done)
        for (u32 i = 0; i < ROUTINES; ++i) {
            volatile u8 *byte = &routines[i]->code[routines[i]->flip_at];
            *byte = *byte == routines[i]->first ? routines[i]->second : routines[i]->first;
        }
}

static void call_while_flipped(void)
{
    lapic_write(LAPIC_TPR, TPR_VALUE); /* after smp_init(), which clears it */
    for (u32 i = 0; i < ROUTINES; ++i) {
        u32 wrong = 0, first = 0, eax = 0, ebx = 0, bad_eax = 0, bad_ebx = 0;
        for (u32 n = 0; n < MOV_ITERATIONS; ++n) {
            call_routine(routines[i]->code, &eax, &ebx);
            first += eax == version && ebx == SENTINEL;
            if (!one_version(routines[i], eax, ebx)) {
                ++wrong;
                bad_eax = eax;
                bad_ebx = ebx;
            }
        }
        LOCKED(CHECK(!wrong, "rewritten by vCPU 1, routine %u (byte %u: %02x/%02x): one version's result in all %u calls "
                     "(the first's in %u; %u wrong, last EAX 0x%x EBX 0x%x)",
                     i, routines[i]->flip_at, routines[i]->first, routines[i]->second, MOV_ITERATIONS, first, wrong,
                     bad_eax, bad_ebx));
    }
    reader_done = 1;
}

static void work(u32 cpu)
{
    if (vcpu_ids[cpu] == smp_bsp_id) call_while_flipped();
    else flip_bytes();
}

static u8 pages[2][4096] __attribute__((aligned(4096)));

/* W runs the first version of `r`, then (stale TLB) either version. */
static void remapped_without_invlpg(const struct routine *r)
{
    memcpy(pages[0], r->code, sizeof r->code);
    memcpy(pages[1], r->code, sizeof r->code);
    pages[0][r->flip_at] = r->first;
    pages[1][r->flip_at] = r->second;
    u64 *pte = paging_pte(W);
    u32 right = 0, eax = 0, ebx = 0;
    for (u32 n = 0; n < TLB_ITERATIONS; ++n) {
        *pte = (u32)(uintptr_t)pages[0] | PTE_P | PTE_W;
        invlpg(W);
        call_routine((const u8 *)W, &eax, &ebx);
        int first_ok = eax == version && ebx == SENTINEL;
        *pte = (u32)(uintptr_t)pages[1] | PTE_P | PTE_W; /* no INVLPG */
        call_routine((const u8 *)W, &eax, &ebx);
        right += first_ok && one_version(r, eax, ebx);
    }
    CHECK(right == TLB_ITERATIONS, "remapped without INVLPG (byte %u: %02x -> %02x): one version's result in %u of %u "
          "calls (last EAX 0x%x EBX 0x%x)", r->flip_at, r->first, r->second, right, TLB_ITERATIONS, eax, ebx);
}

int main(void)
{
    version = lapic_read(LAPIC_VERSION);
    on_every_vcpu(work);
    paging_enable_pae();
    remapped_without_invlpg(&by_address);
    remapped_without_invlpg(&by_kind);
    remapped_without_invlpg(&by_return);
    lapic_write(LAPIC_TPR, 0);
    finish();
}
