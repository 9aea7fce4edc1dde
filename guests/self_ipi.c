/* self_ipi: a vCPU's local APIC delivers IPIs it sends to itself: through the xAPIC ICR with
 * the "self" shorthand and with its own APIC ID as destination, and in x2APIC mode through the
 * ICR MSR and the SELF IPI MSR. Each must arrive as the vector sent, exactly once. */
#include "guest.h"

TEST("self_ipi");

#define VECTOR 0x50
#define ICR_LOW 0x300
#define ICR_HIGH 0x310
#define ICR_ASSERT (1u << 14)
#define ICR_SELF (1u << 18)
#define MSR_APIC_BASE 0x1b
#define MSR_X2APIC_ID 0x802
#define MSR_X2APIC_EOI 0x80b
#define MSR_X2APIC_ICR 0x830
#define MSR_X2APIC_SELF_IPI 0x83f
#define APIC_BASE_X2APIC (1u << 10)

static volatile u32 arrived;
static volatile u32 last_vector;
static int x2apic;

static void handler(struct frame *f)
{
    arrived++;
    last_vector = f->vector;
    if (x2apic) wrmsr(MSR_X2APIC_EOI, 0);
    else lapic_write(LAPIC_EOI, 0);
}

static void expect_arrival(u32 count, const char *how)
{
    int ok = wait_for(&arrived, count, 5000000);
    CHECK(ok && arrived == count && last_vector == VECTOR, "%s: vector 0x%x arrived (count %u)", how, last_vector,
          arrived);
}

int main(void)
{
    set_handler(VECTOR, handler);
    lapic_write(LAPIC_SVR, 0x1ff); /* software enable, spurious vector 0xff */
    sti();
    lapic_write(ICR_HIGH, 0);
    lapic_write(ICR_LOW, ICR_SELF | ICR_ASSERT | VECTOR);
    expect_arrival(1, "xAPIC ICR, shorthand self");
    u32 id = lapic_read(LAPIC_ID) >> 24;
    lapic_write(ICR_HIGH, id << 24);
    lapic_write(ICR_LOW, ICR_ASSERT | VECTOR);
    expect_arrival(2, "xAPIC ICR, destination = own APIC ID");

    if (!((cpuid(1, 0).ecx >> 21) & 1)) {
        skip("x2APIC self-IPIs (no x2APIC in CPUID)");
        finish();
    }
    wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | APIC_BASE_X2APIC);
    x2apic = 1;
    wrmsr(MSR_X2APIC_SELF_IPI, VECTOR);
    expect_arrival(3, "x2APIC SELF IPI MSR");
    u64 x2id = rdmsr(MSR_X2APIC_ID);
    wrmsr(MSR_X2APIC_ICR, (x2id << 32) | ICR_ASSERT | VECTOR);
    expect_arrival(4, "x2APIC ICR MSR, destination = own ID");
    finish();
}
