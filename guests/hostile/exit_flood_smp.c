/* hostile exit_flood_smp: four vCPUs flood at once: CPUID, port I/O, the nop hypercall, and a
 * spin with interrupts off (vCPU i runs flood i of guests/hostile/flood.h), each for its
 * duration (cmdline ticks=M million TSC ticks, default 50).
 * hardware: as cpuid_flood, pio_flood, vmcall_flood and irqoff_spin, on four CPUs at once: every
 *   answer the same as on one. Its four vCPUs share its weight (the credit scheduler's shares are
 *   per VM), so the canary keeps half of the CPU they all run on.
 * expect: contained
 * run: vcpus=4
 * smp: pin=0-1
 */
#include "flood.h"
#include "vcpus.h"

TEST("exit_flood_smp");

static const struct {
    const char *what;
    flood_batch_fn batch;
} floods[] = {
    {"CPUID leaf 0 answered the same", flood_cpuid_batch},
    {"port 0x300 read 0xff", flood_pio_batch},
    {"the nop hypercall returned 0", flood_vmcall_batch},
    {"spun with IF = 0 throughout", flood_spin_batch},
};
static struct flood_result results[SMP_MAX_CPUS];
static u64 ticks;

static void work(u32 cpu)
{
    cli();
    results[cpu] = flood(floods[cpu % ARRAY_SIZE(floods)].batch, ticks);
}

int main(void)
{
    ticks = flood_ticks();
    flood_init();
    if (!under_matryoshka()) {
        skip_native("the hypercall flood (VMCALL is #UD)");
        finish();
    }
    on_every_vcpu(work);
    for (u32 i = 0; i < vcpu_count; ++i) {
        char what[64];
        snprintf(what, sizeof what, "vCPU %u: %s", i, floods[i % ARRAY_SIZE(floods)].what);
        flood_report(what, results[i]);
    }
    CHECK(vcpu_count == 4, "4 vCPUs flooded (%u)", vcpu_count);
    finish();
}
