/* hostile shutdown_loop: all four vCPUs shut down at once, each by its own route to a triple fault:
 *   vCPU 0 (and 3): an empty IDT and INT3 (#BP, then #GP, then #DF undeliverable);
 *   vCPU 1: an IDT of vectors 0-7 only and a selector load beyond the GDT (#GP(0x30) and then #DF
 *     beyond the IDT limit);
 *   vCPU 2: a stack segment of 4 KiB with ESP above it and INT3 (#SS pushing the #BP frame, #SS
 *     again for the #SS, then #DF).
 * hardware: a triple fault puts the CPU in shutdown (SDM Vol. 3A 6.15, interrupt 8); a PC's
 *   chipset then resets the machine, and this guest, started again, would shut down again,
 *   forever. A hypervisor ends the VM at its first shutdown, with a report, whichever vCPU
 *   gets there first, and must cope with the others doing the same at that moment. Nothing after
 *   a fault runs: if it does, the guest prints FAIL.
 * expect: ended ^triple fault: triple fault at RIP
 * run: vcpus=4
 * smp: pin=0-1
 */
#include "vcpus.h"

TEST("shutdown_loop");

#define SEL_SMALL_STACK SEL_FREE1

struct __attribute__((packed)) table_register {
    u16 limit;
    u32 base;
};

static void empty_idt_int3(void)
{
    struct table_register empty = {0, 0};
    __asm__ volatile("lidt %0\n int3" : : "m"(empty) : "memory");
}

static void short_idt_bad_selector(void)
{
    struct table_register idt;
    __asm__ volatile("sidt %0" : "=m"(idt));
    idt.limit = 8 * 8 - 1; /* vectors 0-7: neither #GP (13) nor #DF (8) fits */
    __asm__ volatile("lidt %0\n mov $0x30, %%ax\n mov %%ax, %%ds" : : "m"(idt) : "eax", "memory");
}

static void stack_beyond_limit(void)
{
    __asm__ volatile("mov %0, %%ss\n mov $0x100000, %%esp\n int3" : : "r"((u32)SEL_SMALL_STACK) : "memory");
}

static void work(u32 cpu)
{
    static void (*const routes[])(void) = {empty_idt_int3, short_idt_bad_selector, stack_beyond_limit};
    routes[cpu % ARRAY_SIZE(routes)]();
    LOCKED(fail(EXIT_FAIL, "vCPU %u still running after its triple fault", cpu));
}

int main(void)
{
    gdt_set(SEL_SMALL_STACK, 0, 0, 0x92 /* present, data, writable */, 0xc /* 4 KiB units, 32-bit */);
    printf("shutdown_loop: every vCPU triple-faults at once: the VM should end\n");
    uart_flush();
    on_every_vcpu(work);
    fail(EXIT_FAIL, "still running after every vCPU triple-faulted");
}
