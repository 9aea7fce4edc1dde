/* hostile triple_fault: loads an empty IDT (limit 0) and executes int3.
 * hardware: the #BP cannot be delivered (#GP), nor the #GP (#DF), nor the #DF: a triple fault, and
 *   the CPU enters shutdown (SDM Vol. 3A 6.15, interrupt 8); a PC then resets, a hypervisor ends
 *   the VM. Nothing after the int3 runs: if it does, the guest prints FAIL.
 * expect: ended ^triple fault: triple fault at RIP
 * smp: pin=1
 */
#include "guest.h"

TEST("triple_fault");

int main(void)
{
    printf("triple_fault: loading an empty IDT and executing int3: the VM should end with a triple fault\n");
    struct {
        u16 limit;
        u32 base;
    } __attribute__((packed)) empty = {0, 0};
    uart_flush();
    __asm__ volatile("lidt %0\n int3" : : "m"(empty) : "memory");
    fail(EXIT_FAIL, "still running after int3 with an empty IDT");
}
