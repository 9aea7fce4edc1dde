/* hostile mem_fetch_past_ram: jumps to the first byte after its RAM (the top of the memory map).
 * hardware: a PC fetches from whatever decodes there; with no memory, all ones (FF FF: #UD).
 * expect: ended access to guest-physical address outside the VM's memory: 0x2000000 \(instruction fetch\)
 * run: mem=32M
 * The hypervisor's policy for an address that is neither RAM nor a device (vmx/exit_ept.cpp): end
 * the VM alone and name the address and the kind of access. First the last dword of RAM must be
 * usable and hold a RET that runs: the boundary is exactly the end of the memory map. */
#include "guest.h"

TEST("mem_fetch_past_ram");

static u64 ram_top;
static void top(u64 addr, u64 len, u32 type, void *ctx)
{
    (void)ctx;
    if (type == 1 && addr + len <= 0x100000000ull && addr + len > ram_top) ram_top = addr + len;
}

int main(void)
{
    mmap_foreach(top, 0);
    CHECK(ram_top == 32u << 20, "RAM ends at 32 MiB (0x%llx)", ram_top);
    volatile u8 *last = (volatile u8 *)(uintptr_t)(ram_top - 1);
    *last = 0xc3; /* ret */
    ((void (*)(void))(uintptr_t)(ram_top - 1))();
    CHECK(1, "a RET in the last byte of RAM ran");
    if (checks_failed) finish();
    printf("mem_fetch_past_ram: calling 0x%llx, the first byte after RAM: the VM should end here\n", ram_top);
    uart_flush();
    ((void (*)(void))(uintptr_t)ram_top)();
    fail(EXIT_FAIL, "returned from a call past the end of RAM");
}
