/* hostile_feature_control: a guest that tries to turn VMX on in IA32_FEATURE_CONTROL (0x3A):
 * WRMSR of lock + "VMX outside SMX" must raise #GP (the MSR is not the guest's to write; with
 * VMX hidden in CPUID, real hardware has no such MSR to write). On #GP the line is
 * "ok wrmsr IA32_FEATURE_CONTROL: got #GP", then PASS.
 * Natively (QEMU accepts the write) the check prints SKIP. */
#include "guest.h"

TEST("hostile_feature_control");

static u64 value;
static void do_read(void *p) { (void)p; value = rdmsr(MSR_FEATURE_CONTROL); }
static void do_write(void *p) { (void)p; wrmsr(MSR_FEATURE_CONTROL, 5 /* lock | VMX outside SMX */); }

int main(void)
{
    if (try_call(do_read, 0)) note("rdmsr IA32_FEATURE_CONTROL raised %s", vector_name(last_fault.vector));
    else note("IA32_FEATURE_CONTROL reads 0x%llx", value);
    printf("hostile_feature_control: wrmsr IA32_FEATURE_CONTROL = 5 (lock, VMX outside SMX)\n");
    int faulted = try_call(do_write, 0);
    CHECK_HV(faulted && last_fault.vector == 13, "wrmsr IA32_FEATURE_CONTROL: got %s",
             faulted ? vector_name(last_fault.vector) : "no exception (it completed)");
    if (!try_call(do_read, 0)) note("IA32_FEATURE_CONTROL now reads 0x%llx", value);
    finish();
}
