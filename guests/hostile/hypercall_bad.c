/* hostile hypercall_bad: the VMCALL ABI (vmx/hypercall.hpp, README "Hypercalls") with bad
 * function numbers, console writes from bad guest-physical ranges (beyond RAM, straddling its
 * end, into the local APIC and IOAPIC pages, lengths above 4096 and near 2^64, address + length
 * wrapping around 2^32 and 2^64, odd addresses), every hypercall from CPL 3, KVM's kick and
 * yield naming no vCPU or itself, and 64-bit registers from compatibility mode.
 * hardware: VMCALL is the hypervisor's to define (SDM Vol. 3C 26.1.3 "Instructions That Cause
 * VM Exits Unconditionally"); the ABI (KVM's errors) says: unknown function -1000, bad argument
 * -22, CPL > 0 -1 (nothing done: the exit hypercall from CPL 3 does not end the VM), length 0 and
 * an unaligned in-RAM range are fine; KVM_HC_KICK_CPU and KVM_HC_SCHED_YIELD return 0 whatever
 * they name, and a kick of itself ends its next HLT even with IF=0 (KVM's pv_unhalted); outside
 * 64-bit mode only the low 32 bits of the registers count, and RAX's upper half is cleared
 * (KVM's is_64_bit_hypercall). The hypervisor never reads outside the VM's RAM.
 * expect: contained
 */
#include "guest.h"

TEST("hypercall_bad");

/* VMCALL with 64-bit registers from 64-bit mode (long64_vmcall) or compatibility mode
 * (long64_compat_vmcall): all of RAX afterwards, or 2^64 - 1 - vector if it faulted. */
static u64 vmcall64(void (*fn64)(void), u64 function, u64 arg1, u64 arg2)
{
    struct long64_op op = {0, 0, function, {arg1, arg2}};
    int f = long64_call(fn64, &op);
    return f ? ~0ull - (u64)f : op.value;
}

static volatile long user_result;
static volatile u32 user_fn_no, user_arg1;
static void user_vmcall(void *p)
{
    (void)p;
    user_result = hypercall(user_fn_no, user_arg1, 4);
}

static const char line[] = "hypercall_bad: this line is printed by an in-RAM console write\n";

int main(void)
{
    if (!under_matryoshka()) {
        skip_native("the hypercall ABI");
        finish();
    }
    u64 ram = (u64)boot_info->mem_upper * 1024 + 0x100000;
    note("RAM ends at 0x%llx", ram);
    const u32 bad_functions[] = {0, 1, 2, 3, 4, 10, 12, 0x7fff, HC_BENCH_FLOOR, HC_NOP + 1, 0xffffffffu, 0x80000000u};
    for (u32 i = 0; i < ARRAY_SIZE(bad_functions); ++i)
        CHECK(hypercall(bad_functions[i], 0, 0) == HC_ENOSYS, "function 0x%x returns -1000", bad_functions[i]);
    CHECK(vmcall64(long64_vmcall, (1ull << 32) | HC_EXIT, 0, 0) == (u64)HC_ENOSYS,
          "function 2^32 + exit returns -1000 in 64-bit mode, the VM goes on");
    CHECK(vmcall64(long64_vmcall, ~0ull, 0, 0) == (u64)HC_ENOSYS, "function 2^64 - 1 returns -1000");

    CHECK(hypercall(HC_CONSOLE_WRITE, (u32)line, sizeof line - 1) == 0, "console write from RAM returns 0");
    CHECK(hypercall(HC_CONSOLE_WRITE, (u32)line + 1, 0) == 0, "console write of length 0 returns 0");
    CHECK(hypercall(HC_CONSOLE_WRITE, (u32)line + 3, 5) == 0, "console write from an odd address returns 0");

    /* Compatibility mode: the upper halves are ignored, RAX's cleared. */
    const u64 high = 0xdeadbeef00000000ull;
    u64 r = vmcall64(long64_compat_vmcall, high | HC_NOP, high, high);
    CHECK(r == 0, "compatibility mode: nop with garbage upper halves returns RAX = 0 (0x%llx)", r);
    r = vmcall64(long64_compat_vmcall, high | 0x1234, 0, 0);
    CHECK(r == 0xfffffc18ull, "compatibility mode: an unknown function returns RAX = 0xfffffc18, -1000 in 32 bits (0x%llx)", r);
    r = vmcall64(long64_compat_vmcall, high | HC_CONSOLE_WRITE, high | (u32)line, (1ull << 32) | (sizeof line - 1));
    CHECK(r == 0, "compatibility mode: console write with garbage upper halves prints the line (0x%llx)", r);
    r = vmcall64(long64_vmcall, HC_CONSOLE_WRITE, high | (u32)line, sizeof line - 1);
    CHECK(r == (u64)HC_EINVAL, "64-bit mode: the same address with its upper half is outside RAM: -22 (0x%llx)", r);

    /* KVM's kick and yield name vCPUs by APIC ID: none of these is a vCPU of this VM but itself. */
    const u64 apic_ids[] = {1, 2, 0xff, 0xffffffffu, 1ull << 32, ~0ull};
    for (u32 i = 0; i < ARRAY_SIZE(apic_ids); ++i) {
        r = vmcall64(long64_vmcall, HC_KVM_KICK_CPU, 0, apic_ids[i]);
        CHECK(r == 0, "KVM_HC_KICK_CPU of APIC ID 0x%llx returns 0 (0x%llx)", apic_ids[i], r);
        r = vmcall64(long64_vmcall, HC_KVM_SCHED_YIELD, apic_ids[i], 0);
        CHECK(r == 0, "KVM_HC_SCHED_YIELD to APIC ID 0x%llx returns 0 (0x%llx)", apic_ids[i], r);
    }
    CHECK(hypercall(HC_KVM_SCHED_YIELD, lapic_id(), 0) == 0, "KVM_HC_SCHED_YIELD to itself returns 0");
    /* A kick before the HLT ends it at once, even with IF=0 (otherwise this one-vCPU VM would be
     * ended: halted with interrupts off for ever). */
    CHECK(hypercall(HC_KVM_KICK_CPU, 0, lapic_id()) == 0, "KVM_HC_KICK_CPU of itself returns 0");
    __asm__ volatile("pushfl; cli; hlt; popfl" ::: "memory");
    CHECK(1, "HLT with IF=0 after a kick of itself returned");
    const struct {
        const char *what;
        u64 address, length;
    } bad[] = {
        {"just beyond RAM", ram, 1},
        {"straddling the end of RAM", ram - 8, 16},
        {"the local APIC page", 0xfee00000, 16},
        {"the IOAPIC page", 0xfec00000, 16},
        {"4 GiB - 1, wrapping 2^32", 0xffffffffull, 16},
        {"length 4097", 0x100000, 4097},
        {"length 2^32 + 4", 0x100000, (1ull << 32) + 4},
        {"length 2^64 - 1", 0x100000, ~0ull},
        {"address 2^64 - 8, wrapping 2^64", ~0ull - 7, 16},
        {"address 2^64 - 8, length 8", ~0ull - 7, 8},
        {"address 2^52", 1ull << 52, 16},
        {"address in RAM, length wrapping 2^64", 0x100000, ~0ull - 0xfffff + 16},
    };
    for (u32 i = 0; i < ARRAY_SIZE(bad); ++i) {
        s64 r = (s64)vmcall64(long64_vmcall, HC_CONSOLE_WRITE, bad[i].address, bad[i].length);
        CHECK(r == HC_EINVAL, "console write from %s (0x%llx, 0x%llx) returns -22 (%lld)", bad[i].what,
              bad[i].address, bad[i].length, r);
    }

    /* CPL 3: every function, the exit hypercall and KVM's included, is refused with -1. */
    const u32 user_functions[] = {HC_CONSOLE_WRITE, HC_EXIT, HC_PREEMPTION_HINT, HC_NOP, HC_KVM_KICK_CPU,
                                  HC_KVM_SCHED_YIELD, 1, 0x1234};
    for (u32 i = 0; i < ARRAY_SIZE(user_functions); ++i) {
        user_fn_no = user_functions[i];
        user_arg1 = (u32)line;
        user_result = 0;
        int f = try_user(user_vmcall, 0);
        CHECK(!f && user_result == HC_EPERM, "CPL 3 VMCALL function 0x%x returns -1 (%ld, %s)", user_functions[i],
              user_result, f ? vector_name(last_fault.vector) : "no fault");
    }
    CHECK(hypercall(HC_NOP, 0, 0) == 0, "still running: nop from CPL 0 returns 0");
    finish();
}
