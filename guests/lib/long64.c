/* long64_call (long64.asm does the mode switch): the page tables, built once. An identity map
 * of the first 4 GiB with 2 MiB pages; the local APIC's page uncached (PCD, PWT). */
#include "guest.h"

u32 long64_enter(u32 pml4, u32 fn64, u32 arg);

static u64 pml4[512] __attribute__((aligned(4096)));
static u64 pdpt[512] __attribute__((aligned(4096)));
static u64 pd[4][512] __attribute__((aligned(4096)));

u32 long64_pml4(void)
{
    if (!pml4[0]) {
        for (u32 g = 0; g < 4; ++g) {
            for (u32 i = 0; i < 512; ++i) {
                u64 phys = (u64)g << 30 | (u64)i << 21;
                pd[g][i] = phys | 0x83; /* present, writable, 2 MiB */
                if (phys == (LAPIC_BASE & ~0x1fffffu)) pd[g][i] |= 0x18;
            }
            pdpt[g] = (u32)(uintptr_t)pd[g] | 3;
        }
        pml4[0] = (u32)(uintptr_t)pdpt | 3;
    }
    return (u32)(uintptr_t)pml4;
}

int long64_call(void (*fn64)(void), void *arg)
{
    last_fault.vector = 0xffffffff;
    return (int)long64_enter(long64_pml4(), (u32)(uintptr_t)fn64, (u32)(uintptr_t)arg);
}

int long64_op(void (*fn64)(void), u32 index, u64 *value)
{
    struct long64_op op = {index, 0, *value, {0, 0}};
    int f = long64_call(fn64, &op);
    *value = op.value;
    return f;
}
