/* hostile memory_beyond_ram: reads, then writes guest-physical memory beyond its RAM (3 GiB).
 * hardware: on a PC an address no device decodes reads all ones and drops writes (or raises a
 *   machine check); Matryoshka owns no such page for the VM and ends it at the first access, the
 *   read, with a report. First it checks the last word of its RAM is usable ("not ok" otherwise).
 *   Natively the access completes: SKIP, then PASS.
 * expect: ended ^stopped: access to guest-physical address outside the VM's memory: 0xc0000000 \(read\)
 * Command line: addr=0xADDR (default 0xC0000000) or addr=end (the first byte after RAM);
 * mode=read|write|both (default both: a read, then a write).
 */
#include "guest.h"

TEST("memory_beyond_ram");

static u64 ram_top;
static void top(u64 addr, u64 len, u32 type, void *ctx)
{
    (void)ctx;
    if (type == 1 && addr + len <= 0x100000000ull && addr + len > ram_top) ram_top = addr + len;
}

int main(void)
{
    ASSERT(boot_info);
    mmap_foreach(top, 0);
    ASSERT(ram_top > 0x100000);
    volatile u32 *last = (volatile u32 *)(uintptr_t)(ram_top - 4);
    *last = 0x600dc0de;
    CHECK(*last == 0x600dc0de, "the last word of RAM (0x%llx) is usable", ram_top - 4);

    char text[24] = "";
    u64 target = 0xc0000000ull;
    if (cmdline_get("addr", text, sizeof text)) target = !strcmp(text, "end") ? ram_top : parse_number(text, 0);
    char mode[8] = "both";
    cmdline_get("mode", mode, sizeof mode);
    ASSERT(target >= ram_top && target < 0x100000000ull);
    volatile u32 *p = (volatile u32 *)(uintptr_t)target;

    u32 value = 0;
    if (strcmp(mode, "write")) {
        printf("memory_beyond_ram: reading 0x%08llx, beyond RAM (which ends at 0x%llx): the VM should end here\n", target,
               ram_top);
        uart_flush();
        value = *p;
        printf("memory_beyond_ram: the read returned 0x%08x\n", value);
    }
    if (strcmp(mode, "read")) {
        printf("memory_beyond_ram: writing 0x%08llx, beyond RAM: the VM should end here\n", target);
        uart_flush();
        *p = 0xbadc0de;
        value = *p;
        printf("memory_beyond_ram: the write completed, reading back 0x%08x\n", value);
    }
    if (under_matryoshka()) fail(EXIT_FAIL, "the access to 0x%08llx beyond RAM did not end the VM", target);
    skip_native("ending the VM on an access beyond RAM (the access completed)");
    finish();
}
