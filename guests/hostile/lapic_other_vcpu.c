/* hostile lapic_other_vcpu: vCPU 0 reads the local APIC page of vCPU 1, which vCPU 1 moved to 0xFED00000.
 * hardware: each CPU's APIC answers only that CPU's own accesses (SDM Vol. 3A 11.4.1: "a processor
 * can access only its own local APIC"); another CPU's access to the page goes to the bus, where
 * nothing decodes it.
 * expect: ended access to guest-physical address outside the VM's memory: 0xfed00030 \(read\)
 * run: vcpus=2
 * vCPU 1 relocates its APIC (IA32_APIC_BASE), checks it answers there, and signals; vCPU 0 then
 * reads 0xFED00030: not its APIC, not RAM, no device: the hypervisor ends the VM alone (it must
 * never hand vCPU 0 the other vCPU's registers). */
#include "guest.h"

TEST("lapic_other_vcpu");

#define NEW_BASE 0xfed00000u

static volatile u32 moved, version_at_new_base;

static void ap_main(u32 cpu)
{
    (void)cpu;
    u64 base = rdmsr(MSR_APIC_BASE);
    wrmsr(MSR_APIC_BASE, (base & 0xfff) | NEW_BASE);
    version_at_new_base = mmio_read32(NEW_BASE + LAPIC_VERSION);
    __atomic_store_n(&moved, 1, __ATOMIC_RELEASE);
}

int main(void)
{
    smp_start_all(ap_main);
    CHECK(smp_wait_count(&moved, 1, 1000), "vCPU 1 moved its APIC");
    CHECK(version_at_new_base == lapic_read(LAPIC_VERSION), "vCPU 1's APIC answers at 0xFED00000 (0x%08x)",
          version_at_new_base);
    if (checks_failed) finish();
    printf("lapic_other_vcpu: vCPU 0 reads 0xfed00030: the VM should end here\n");
    uart_flush();
    u32 v = mmio_read32(NEW_BASE + LAPIC_VERSION);
    fail(EXIT_FAIL, "vCPU 0 read 0x%08x from vCPU 1's APIC page", v);
}
