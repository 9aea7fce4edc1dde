/* hypercall: the VMCALL ABI (vmx/hypercall.hpp): console write prints the guest's bytes as its
 * lines, bad arguments and unknown functions give KVM's errors (-22, -1000; Matryoshka's old
 * numbers 0, 1, 2 and 0x7fff are KVM's range now and unknown there), nop returns 0, and the exit
 * hypercall ends the VM with the value given (no debug-exit write). */
#include "guest.h"

TEST("hypercall");

static const char greeting[] = "hypercall console says hello\nand a second line";
static const char escape[] = "no terminal control: \x1b[2J\x07 done";

int main(void)
{
    if (!under_matryoshka()) {
        skip_native("the hypercall ABI (VMCALL outside VMX non-root is #UD)");
        finish();
    }
    CHECK(hypercall(HC_CONSOLE_WRITE, (u32)greeting, sizeof greeting - 1) == 0, "console write of two lines returns 0");
    CHECK(hypercall(HC_CONSOLE_WRITE, (u32)escape, sizeof escape - 1) == 0,
          "console write with control characters returns 0");
    CHECK(hypercall(HC_CONSOLE_WRITE, 0xf0000000u, 16) == HC_EINVAL, "console write from outside RAM returns -22");
    CHECK(hypercall(HC_CONSOLE_WRITE, (u32)greeting, 5000) == HC_EINVAL,
          "console write longer than 4096 bytes returns -22");
    CHECK(hypercall(0x1234, 0, 0) == HC_ENOSYS, "an unknown function returns -1000");
    const u32 old_numbers[] = {0, 1, 2, 0x7fff};
    for (u32 i = 0; i < ARRAY_SIZE(old_numbers); ++i)
        CHECK(hypercall(old_numbers[i], (u32)greeting, 4) == HC_ENOSYS, "KVM's number %u is unknown: -1000",
              old_numbers[i]);
    CHECK(hypercall(HC_NOP, 0, 0) == 0, "nop returns 0");
    if (checks_failed) finish();
    printf("exit hypercall next\n");
    hypercall(HC_EXIT, 0, 0);
    CHECK(0, "the exit hypercall returned");
    finish();
}
