/* hostile mem_pc_hole_fetch: jumps into the PC hole, to 0xC0000 where an option ROM's entry would be.
 * hardware: with no ROM there, the CPU fetches all ones (0xFF 0xFF... decodes as FF /7, #UD).
 * expect: ended instruction fetch from device memory at 0xc0000
 * The hole reads all ones (mem_pc_hole), but it is device memory emulated access by access: no
 * guest code can run from it, and the hypervisor's policy (vmx/exit_ept.cpp) is to end the VM
 * alone, naming the address, rather than emulate execution from a device. */
#include "guest.h"

TEST("mem_pc_hole_fetch");

int main(void)
{
    printf("mem_pc_hole_fetch: calling 0xc0000: the VM should end here\n");
    uart_flush();
    ((void (*)(void))0xc0000)();
    fail(EXIT_FAIL, "returned from a call to 0xc0000");
}
