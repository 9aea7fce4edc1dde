/* PAE paging for tests (SDM Vol. 3A 4.4): an identity map of the 4 GiB with 2 MiB pages, and 4 KiB
 * page tables where a test wants to change single pages. Device pages (0xFE000000 up) are
 * mapped uncacheable (PCD|PWT). One PDPT, four page directories, a few page tables, all here. */
#include "guest.h"

#define PAGE_TABLES 8

static u64 pdpt[4] __attribute__((aligned(32)));
static u64 directories[4][512] __attribute__((aligned(4096)));
static u64 tables[PAGE_TABLES][512] __attribute__((aligned(4096)));
static u32 tables_used;

void paging_enable_pae(void)
{
    for (u32 d = 0; d < 4; ++d) {
        pdpt[d] = (u32)(uintptr_t)directories[d] | PTE_P;
        for (u32 i = 0; i < 512; ++i) {
            u64 address = (u64)d << 30 | (u64)i << 21;
            directories[d][i] = address | PTE_P | PTE_W | PTE_PS | (address >= 0xfe000000u ? PTE_PCD | PTE_PWT : 0);
        }
    }
    write_cr3((u32)(uintptr_t)pdpt);
    write_cr4(read_cr4() | CR4_PAE);
    write_cr0(read_cr0() | CR0_PG);
}

u64 *paging_pde(u32 linear) { return &directories[linear >> 30][(linear >> 21) & 511]; }

u64 *paging_pte(u32 linear)
{
    u64 *pde = paging_pde(linear);
    if (*pde & PTE_PS) {
        ASSERT(tables_used < PAGE_TABLES);
        u64 *table = tables[tables_used++];
        u64 base = *pde & 0xfffe00000ull, flags = *pde & (PTE_P | PTE_W | PTE_PCD | PTE_PWT);
        for (u32 i = 0; i < 512; ++i) table[i] = (base + ((u64)i << 12)) | flags;
        *pde = (u32)(uintptr_t)table | PTE_P | PTE_W;
        paging_flush();
    }
    return &((u64 *)(uintptr_t)(*pde & 0xfffff000u))[(linear >> 12) & 511];
}

void paging_flush(void) { write_cr3(read_cr3()); }
