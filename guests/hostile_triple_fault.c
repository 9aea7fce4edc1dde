/* hostile_triple_fault: loads an empty IDT (limit 0) and executes int3. The #BP cannot be
 * delivered (#GP), nor can the #GP (#DF), nor the #DF: a triple fault, which shuts the CPU down.
 * The hypervisor must end this VM (only this one) and report it. Nothing after the int3 runs;
 * if it does, the line says FAIL. */
#include "guest.h"

TEST("hostile_triple_fault");

int main(void)
{
    printf("hostile_triple_fault: loading an empty IDT and executing int3: the VM should end with a triple fault\n");
    struct {
        u16 limit;
        u32 base;
    } __attribute__((packed)) empty = {0, 0};
    uart_flush();
    __asm__ volatile("lidt %0\n int3" : : "m"(empty) : "memory");
    fail(EXIT_FAIL, "still running after int3 with an empty IDT");
}
