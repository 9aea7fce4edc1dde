/* hostile io_string: REP INS/OUTS with huge counts, wrapping addresses, DF=1 and a page fault midway.
 * hardware: (SDM Vol. 2 "INS", "OUTS", "REP"; Vol. 1 3.3.7) each element goes to ES:rDI (from
 * DS:rSI), rDI/rSI step by the size (down with DF=1) modulo the address size, the linear address
 * wraps at 4 GiB outside 64-bit mode; a fault stops the REP with rCX/rDI counting the elements
 * done, and the IRET from the handler resumes it. The port is unclaimed (0x2F0): INS stores
 * all ones, OUTS writes vanish.
 * expect: contained
 * Cases: REP INSB of 1 MiB and REP OUTSB of 1 MiB (many batches of exits); REP INSW with DF=1;
 * REP INSB with EDI 0xFFFFFFFE over the 4 GiB wrap (PAE maps the top and bottom linear pages to
 * RAM); 16-bit addressing (0x67) with DI 0xFFFE in a segment based at a scratch area (DI wraps to
 * 0, the linear address stays inside the segment); REP INSB running into a not-present page (#PF
 * with CR2 at the page, ECX/EDI at the elements done; the handler maps it and the REP completes). */
#include "guest.h"

TEST("io_string");

#define PORT 0x2f0
#define TOP 0xfffff000u
#define HOLE_PAGE 0x40001000u /* linear: L is present, L + 4 KiB not at first */

static u8 top_page[4096] __attribute__((aligned(4096)));
static u8 bottom_page[4096] __attribute__((aligned(4096)));
static u8 window[2][4096] __attribute__((aligned(4096)));
static volatile u32 pf_count, pf_cr2, pf_ecx, pf_edi;

static void on_page_fault(struct frame *f)
{
    pf_count++;
    pf_cr2 = read_cr2();
    pf_ecx = f->ecx;
    pf_edi = f->edi;
    *paging_pte(HOLE_PAGE) = (u32)(uintptr_t)window[1] | PTE_P | PTE_W;
    invlpg(HOLE_PAGE);
}

static int all(const u8 *p, u32 n, u8 v)
{
    for (u32 i = 0; i < n; ++i)
        if (p[i] != v) return 0;
    return 1;
}

int main(void)
{
    u32 scratch = (boot_data_end() + 0xffff) & ~0xffffu;
    ASSERT(scratch + (2u << 20) <= 32u << 20);

    /* 1 MiB each way. */
    u8 *big = (u8 *)(uintptr_t)scratch;
    memset(big, 0, (1u << 20) + 16);
    u32 edi = scratch, ecx = 1u << 20;
    __asm__ volatile("rep insb" : "+D"(edi), "+c"(ecx) : "d"(PORT) : "memory");
    CHECK(ecx == 0 && edi == scratch + (1u << 20) && all(big, 1u << 20, 0xff) && big[1u << 20] == 0,
          "rep insb of 1 MiB: all 0xff, ECX 0, EDI + 1 MiB, nothing after");
    u32 esi = scratch;
    ecx = 1u << 20;
    __asm__ volatile("rep outsb" : "+S"(esi), "+c"(ecx) : "d"(PORT) : "memory");
    CHECK(ecx == 0 && esi == scratch + (1u << 20), "rep outsb of 1 MiB: ECX 0, ESI + 1 MiB");

    /* DF=1. */
    u16 words[8] = {0};
    u16 *w = &words[6];
    ecx = 5;
    __asm__ volatile("std; rep insw; cld" : "+D"(w), "+c"(ecx) : "d"(PORT) : "memory");
    CHECK(!words[0] && words[2] == 0xffff && words[6] == 0xffff && !words[7] && w == &words[1] && ecx == 0,
          "rep insw x5 with DF=1 fills words 6..2, EDI ends 2 below");

    /* 16-bit addressing: DI wraps inside a 64 KiB segment. */
    u8 *seg = big + (1u << 20) + 0x10000;
    seg = (u8 *)(((uintptr_t)seg + 0xffff) & ~(uintptr_t)0xffff);
    memset(seg, 0, 0x10000);
    gdt_set(SEL_FREE1, (u32)(uintptr_t)seg, 0xf, 0x92, 0xc);
    u32 di = 0xfffe, cx = 4;
    __asm__ volatile("push %%es\n mov %w2, %%es\n addr16 rep insb\n pop %%es"
                     : "+D"(di), "+c"(cx) : "r"(SEL_FREE1), "d"(PORT) : "memory");
    CHECK(seg[0xfffe] == 0xff && seg[0xffff] == 0xff && seg[0] == 0xff && seg[1] == 0xff && !seg[2] && !seg[0xfffd] &&
              (di & 0xffff) == 2 && (cx & 0xffff) == 0,
          "addr16 rep insb from DI 0xfffe: bytes 0xfffe, 0xffff, 0, 1 of the segment; DI 0x%x", di & 0xffff);

    /* The 4 GiB wrap, under PAE paging. */
    paging_enable_pae();
    *paging_pte(TOP) = (u32)(uintptr_t)top_page | PTE_P | PTE_W;
    *paging_pte(0) = (u32)(uintptr_t)bottom_page | PTE_P | PTE_W;
    paging_flush();
    edi = 0xfffffffe;
    ecx = 4;
    __asm__ volatile("rep insb" : "+D"(edi), "+c"(ecx) : "d"(PORT) : "memory");
    CHECK(top_page[0xffe] == 0xff && top_page[0xfff] == 0xff && bottom_page[0] == 0xff && bottom_page[1] == 0xff &&
              !bottom_page[2] && !top_page[0xffd] && edi == 2 && ecx == 0,
          "rep insb from EDI 0xfffffffe wraps to linear 0: EDI 0x%x", edi);
    *paging_pte(0) = PTE_P | PTE_W;
    paging_flush();

    /* A not-present page midway. */
    *paging_pte(HOLE_PAGE - 4096) = (u32)(uintptr_t)window[0] | PTE_P | PTE_W;
    *paging_pte(HOLE_PAGE) = 0;
    paging_flush();
    set_handler(14, on_page_fault);
    edi = HOLE_PAGE - 8;
    ecx = 16;
    __asm__ volatile("rep insb" : "+D"(edi), "+c"(ecx) : "d"(PORT) : "memory");
    set_handler(14, 0);
    CHECK(pf_count == 1 && pf_cr2 == HOLE_PAGE && pf_ecx == 8 && pf_edi == HOLE_PAGE,
          "one #PF at the page (CR2 0x%x) with ECX %u and EDI 0x%x: the 8 elements before it done", pf_cr2, pf_ecx, pf_edi);
    CHECK(all(&window[0][4088], 8, 0xff) && all(window[1], 8, 0xff) && !window[1][8] && ecx == 0 && edi == HOLE_PAGE + 8,
          "after the handler mapped it the REP completed: 16 bytes of 0xff");
    finish();
}
