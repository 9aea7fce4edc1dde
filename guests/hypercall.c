/* hypercall: Matryoshka's VMCALL ABI (vmx/hypercall.hpp): console write prints the guest's
 * bytes as its lines, bad arguments and unknown functions give their negative results, nop
 * returns 0, and the exit hypercall ends the VM with the value given (no debug-exit write). */
#include "guest.h"

TEST("hypercall");

static long vmcall3(u32 function, u32 arg1, u32 arg2)
{
    long result;
    __asm__ volatile("vmcall" : "=a"(result) : "a"(function), "b"(arg1), "c"(arg2) : "memory");
    return result;
}

static const char greeting[] = "hypercall console says hello\nand a second line";
static const char escape[] = "no terminal control: \x1b[2J\x07 done";

int main(void)
{
    if (!under_matryoshka()) {
        skip_native("the hypercall ABI (VMCALL outside VMX non-root is #UD)");
        finish();
    }
    CHECK(vmcall3(0, (u32)greeting, sizeof greeting - 1) == 0, "console write of two lines returns 0");
    CHECK(vmcall3(0, (u32)escape, sizeof escape - 1) == 0, "console write with control characters returns 0");
    CHECK(vmcall3(0, 0xf0000000u, 16) == -2, "console write from outside RAM returns -2");
    CHECK(vmcall3(0, (u32)greeting, 5000) == -2, "console write longer than 4096 bytes returns -2");
    CHECK(vmcall3(0x1234, 0, 0) == -1, "an unknown function returns -1");
    CHECK(vmcall3(0x7fff, 0, 0) == 0, "nop returns 0");
    if (checks_failed) finish();
    printf("exit hypercall next\n");
    vmcall3(1, 0, 0);
    CHECK(0, "the exit hypercall returned");
    finish();
}
