/* hostile hypercall_bad: Matryoshka's VMCALL ABI (vmx/hypercall.hpp, README "Hypercalls") with
 * bad function numbers, console writes from bad guest-physical ranges (beyond RAM, straddling
 * its end, into the local APIC and IOAPIC pages, lengths above 4096 and near 2^64, address +
 * length wrapping around 2^32 and 2^64, odd addresses), and every hypercall from CPL 3.
 * hardware: VMCALL is the hypervisor's to define (SDM Vol. 3C 26.1.3 "Instructions That Cause
 * VM Exits Unconditionally"); the ABI says: unknown function -1, bad argument -2, CPL > 0 -3
 * (nothing done: the exit hypercall from CPL 3 does not end the VM), length 0 and an
 * unaligned in-RAM range are fine. The hypervisor never reads outside the VM's RAM.
 * expect: contained
 */
#include "guest.h"

TEST("hypercall_bad");

#define HC_CONSOLE_WRITE 0
#define HC_EXIT 1
#define HC_NOP 0x7fff

static s64 vmcall64(u64 function, u64 arg1, u64 arg2)
{
    struct long64_op op = {0, 0, function, {arg1, arg2}};
    int f = long64_call(long64_vmcall, &op);
    return f ? -1000 - f : (s64)op.value;
}

static long vmcall32(u32 function, u32 arg1, u32 arg2)
{
    long result;
    __asm__ volatile("vmcall" : "=a"(result) : "a"(function), "b"(arg1), "c"(arg2) : "memory");
    return result;
}

static volatile long user_result;
static volatile u32 user_fn_no, user_arg1;
static void user_vmcall(void *p)
{
    (void)p;
    long r;
    __asm__ volatile("vmcall" : "=a"(r) : "a"(user_fn_no), "b"(user_arg1), "c"(4) : "memory");
    user_result = r;
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
    const u32 bad_functions[] = {3, 4, 0x7ffe, 0x8000, 0xffffffffu, 0x80000000u};
    for (u32 i = 0; i < ARRAY_SIZE(bad_functions); ++i)
        CHECK(vmcall32(bad_functions[i], 0, 0) == -1, "function 0x%x returns -1", bad_functions[i]);
    CHECK(vmcall64(1ull << 32, 0, 0) == -1, "function 2^32 (exit + 2^32) returns -1, the VM goes on");
    CHECK(vmcall64(~0ull, 0, 0) == -1, "function 2^64 - 1 returns -1");

    CHECK(vmcall32(HC_CONSOLE_WRITE, (u32)line, sizeof line - 1) == 0, "console write from RAM returns 0");
    CHECK(vmcall32(HC_CONSOLE_WRITE, (u32)line + 1, 0) == 0, "console write of length 0 returns 0");
    CHECK(vmcall32(HC_CONSOLE_WRITE, (u32)line + 3, 5) == 0, "console write from an odd address returns 0");
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
        s64 r = vmcall64(HC_CONSOLE_WRITE, bad[i].address, bad[i].length);
        CHECK(r == -2, "console write from %s (0x%llx, 0x%llx) returns -2 (%lld)", bad[i].what, bad[i].address,
              bad[i].length, r);
    }

    /* CPL 3: every function, the exit hypercall included, is refused with -3. */
    const u32 user_functions[] = {HC_CONSOLE_WRITE, HC_EXIT, 2, HC_NOP, 0x1234};
    for (u32 i = 0; i < ARRAY_SIZE(user_functions); ++i) {
        user_fn_no = user_functions[i];
        user_arg1 = (u32)line;
        user_result = 0;
        int f = try_user(user_vmcall, 0);
        CHECK(!f && user_result == -3, "CPL 3 VMCALL function 0x%x returns -3 (%ld, %s)", user_functions[i],
              user_result, f ? vector_name(last_fault.vector) : "no fault");
    }
    CHECK(vmcall32(HC_NOP, 0, 0) == 0, "still running: nop from CPL 0 returns 0");
    finish();
}
