/* hostile feature_control_write: WRMSR IA32_FEATURE_CONTROL (0x3A) = lock | VMX outside SMX.
 * hardware: with VMX hidden in CPUID the MSR is not the guest's to write: #GP (SDM Vol. 4, table
 *   2-2: the MSR exists only with VMX or SMX; a locked one is #GP on write), and the guest goes on.
 *   Natively (QEMU accepts the write) the check prints SKIP.
 * expect: contained
 */
#include "guest.h"

TEST("feature_control_write");

static u64 value;
static void do_read(void *p) { (void)p; value = rdmsr(MSR_FEATURE_CONTROL); }
static void do_write(void *p) { (void)p; wrmsr(MSR_FEATURE_CONTROL, 5 /* lock | VMX outside SMX */); }

int main(void)
{
    if (try_call(do_read, 0)) note("rdmsr IA32_FEATURE_CONTROL raised %s", vector_name(last_fault.vector));
    else note("IA32_FEATURE_CONTROL reads 0x%llx", value);
    printf("feature_control_write: wrmsr IA32_FEATURE_CONTROL = 5 (lock, VMX outside SMX)\n");
    int faulted = try_call(do_write, 0);
    CHECK_HV(faulted && last_fault.vector == 13, "wrmsr IA32_FEATURE_CONTROL: got %s",
             faulted ? vector_name(last_fault.vector) : "no exception (it completed)");
    if (!try_call(do_read, 0)) note("IA32_FEATURE_CONTROL now reads 0x%llx", value);
    finish();
}
