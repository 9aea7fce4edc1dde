/* hostile ipi_storm_smp: four vCPUs storm at once, for its duration (cmdline ticks=M million TSC
 * ticks, default 50): each sends a fixed IPI (its own vector, 0x60 + its index) and an NMI to
 * every xAPIC ID 0-255, and INIT (assert, de-assert) and SIPI to every ID its VM does not have
 * (4-255: other VMs' vCPUs, or nobody's), round after round.
 * hardware: an IPI goes only to the local APICs its destination selects (SDM Vol. 3A 11.6.2):
 *   each vCPU gets the fixed IPIs and NMIs sent to its own ID and to the broadcast ID 0xFF, from
 *   every sender (the same vector sent again while one is pending in the IRR merges with it, so
 *   at least one and at most one per round per sender), and nothing else; INIT and SIPI to IDs
 *   nobody in the VM has change nothing, and no IPI may reach another VM.
 * expect: contained
 * run: vcpus=4
 * smp: pin=0-1
 */
#include "ipi.h"
#include "vcpus.h"

TEST("ipi_storm_smp");

#define FIRST_VECTOR 0x60
#define VCPUS 4

static volatile u32 fixed_from[VCPUS][VCPUS]; /* [receiver][sender] */
static volatile u32 nmis[VCPUS];
static volatile u32 rounds[VCPUS];
static u64 end_tsc;

static u32 my_index(void)
{
    u32 id = lapic_id();
    for (u32 i = 0; i < vcpu_count; ++i)
        if (vcpu_ids[i] == id) return i;
    LOCKED(fail(EXIT_FAIL, "an interrupt on APIC ID %u, which is not one of its vCPUs", id));
}

static void fixed_handler(struct frame *f)
{
    __atomic_fetch_add(&fixed_from[my_index()][f->vector - FIRST_VECTOR], 1, __ATOMIC_RELAXED);
    lapic_write(LAPIC_EOI, 0);
}

static void nmi_handler(struct frame *f)
{
    (void)f;
    __atomic_fetch_add(&nmis[my_index()], 1, __ATOMIC_RELAXED);
}

static void send(u32 dest, u32 low)
{
    if (!xapic_send(dest, low)) LOCKED(fail(EXIT_TIMEOUT, "ICR delivery status stayed pending (dest 0x%x)", dest));
}

static void work(u32 cpu)
{
    lapic_write(LAPIC_SVR, 0x1ff);
    lapic_write(LAPIC_TPR, 0);
    sti();
    while (rdtsc() < end_tsc) {
        for (u32 id = 0; id < 256; ++id) {
            send(id, ICR_ASSERT | ICR_FIXED | (FIRST_VECTOR + cpu));
            send(id, ICR_ASSERT | ICR_NMI);
            if (id >= vcpu_count && id != 0xff) {
                send(id, ICR_ASSERT | ICR_LEVEL_TRIGGER | ICR_INIT);
                send(id, ICR_LEVEL_TRIGGER | ICR_INIT);
                send(id, ICR_ASSERT | ICR_STARTUP | SIPI_PAGE);
            }
        }
        rounds[cpu]++;
    }
    /* The last round's IPIs arrive; then the counts stay still. */
    for (u64 t = rdtsc(); rdtsc() - t < 2000000;) pause();
    cli();
}

int main(void)
{
    end_tsc = rdtsc() + cmdline_number("ticks", 50) * 1000000;
    for (u32 v = 0; v < VCPUS; ++v) set_handler(FIRST_VECTOR + v, fixed_handler);
    set_handler(NMI_VECTOR, nmi_handler);
    on_every_vcpu(work);
    CHECK(vcpu_count == VCPUS, "%u vCPUs stormed (%u)", VCPUS, vcpu_count);
    u32 total_rounds = 0;
    for (u32 s = 0; s < vcpu_count; ++s) total_rounds += rounds[s];
    for (u32 r = 0; r < vcpu_count; ++r) {
        u32 wrong = 0;
        for (u32 s = 0; s < vcpu_count; ++s)
            /* Twice a round from each sender: to its ID and to the broadcast. */
            wrong += fixed_from[r][s] < 1 || fixed_from[r][s] > 2 * rounds[s];
        CHECK(!wrong && nmis[r] >= 1 && nmis[r] <= 2 * total_rounds,
              "vCPU %u got fixed IPIs from each sender (%u %u %u %u) and %u NMIs, within what was sent to it", r,
              fixed_from[r][0], fixed_from[r][1], fixed_from[r][2], fixed_from[r][3], nmis[r]);
    }
    note("rounds per vCPU: %u %u %u %u", rounds[0], rounds[1], rounds[2], rounds[3]);
    finish();
}
