/* hostile vmcall_flood: the nop hypercall (VMCALL, RAX = 0x4d487fff) in a tight loop, to starve others.
 * hardware: VMCALL outside VMX operation is #UD; in VMX non-root it always exits (SDM Vol. 3C
 *   26.1.2) and Matryoshka's hypercall ABI (vmx/hypercall.hpp) answers the nop with RAX = 0,
 *   every time; the loop runs until its duration (cmdline ticks=M million TSC ticks), then PASS.
 *   Natively the #UD is a SKIP.
 * expect: contained
 * smp: pin=1
 */
#include "flood.h"

TEST("vmcall_flood");

static void one_vmcall(void *p)
{
    (void)p;
    flood_vmcall_batch();
}

int main(void)
{
    if (!under_matryoshka() && try_call(one_vmcall, 0)) {
        skip_native("the nop hypercall (VMCALL raised %s)", vector_name(last_fault.vector));
        finish();
    }
    flood_report("the nop hypercall returned 0", flood(flood_vmcall_batch, flood_ticks()));
    finish();
}
