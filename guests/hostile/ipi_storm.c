/* hostile ipi_storm: fixed IPIs, NMIs, INITs and SIPIs aimed at every APIC ID, again and again.
 * One vCPU, APIC ID 0, so every other ID is somebody else's (the canary's vCPU, or nobody's).
 * Each round, in xAPIC mode for the first half of its duration (cmdline ticks=M million TSC
 * ticks, default 50) and in x2APIC mode for the second half:
 *   - a fixed IPI (vector 0x60) and an NMI to every physical ID (xAPIC 0-255 with broadcast
 *     0xFF; x2APIC 0-511, then IDs up to 0xFFFFFFFE, and broadcast 0xFFFFFFFF);
 *   - a fixed IPI to every logical destination (xAPIC flat model, LDR bit 0; x2APIC clusters
 *     0-15, each logical bit);
 *   - INIT (assert and de-assert) and SIPI to every ID but its own and the broadcast, and to
 *     "all excluding self".
 * hardware: an IPI goes only to the local APICs its destination selects (SDM Vol. 3A 11.6.2):
 *   this vCPU gets exactly the fixed IPIs and NMIs sent to its own ID, the broadcast ID, and the
 *   logical destinations that include its logical ID; the rest reach nobody of its VM and none
 *   may reach another VM. INIT and SIPI to others leave it running. Counts every delivery
 *   (waiting for those addressed to it, so none coalesce in the IRR) against that.
 * expect: contained
 * smp: pin=1
 */
#include "ipi.h"

TEST("ipi_storm");

#define FIXED_VECTOR 0x60
#define X2APIC_FAR_IDS 12

static volatile u32 fixed_count, nmi_count;
static u32 fixed_expected, nmi_expected, rounds;
static int x2apic;
static u32 own_id;

static void fixed_handler(struct frame *f)
{
    (void)f;
    fixed_count++;
    if (x2apic) wrmsr(MSR_X2APIC_EOI, 0);
    else lapic_write(LAPIC_EOI, 0);
}

static void nmi_handler(struct frame *f)
{
    (void)f;
    nmi_count++;
}

static void send(u32 dest, u32 low)
{
    if (x2apic) x2apic_send(dest, low);
    else if (!xapic_send(dest, low)) fail(EXIT_TIMEOUT, "ICR delivery status stayed pending (dest 0x%x)", dest);
}

/* Sends to `dest`; if it selects this vCPU, waits for the delivery (bounded). */
static void send_counted(u32 dest, u32 low, int selects_me)
{
    volatile u32 *count = (low & 0x700) == ICR_NMI ? &nmi_count : &fixed_count;
    u32 *expected = (low & 0x700) == ICR_NMI ? &nmi_expected : &fixed_expected;
    send(dest, low);
    if (!selects_me) return;
    ++*expected;
    if (!wait_for(count, *expected, 50000000))
        fail(EXIT_TIMEOUT, "%s to 0x%x (its own) never arrived", count == &nmi_count ? "NMI" : "fixed IPI", dest);
}

static void init_and_sipi(u32 dest)
{
    send(dest, ICR_ASSERT | ICR_LEVEL_TRIGGER | ICR_INIT);
    send(dest, ICR_LEVEL_TRIGGER | ICR_INIT); /* de-assert */
    send(dest, ICR_ASSERT | ICR_STARTUP | SIPI_PAGE);
}

static void round_of_ipis(void)
{
    u32 broadcast = x2apic ? 0xffffffffu : 0xff;
    u32 ids = x2apic ? 512 : 255;
    for (u32 id = 0; id < ids; ++id) {
        send_counted(id, ICR_ASSERT | ICR_FIXED | FIXED_VECTOR, id == own_id);
        send_counted(id, ICR_ASSERT | ICR_NMI, id == own_id);
    }
    if (x2apic)
        for (u32 i = 1; i <= X2APIC_FAR_IDS; ++i) {
            u32 id = 0xffffffffu / X2APIC_FAR_IDS * i - 1; /* up to 0xFFFFFFFE, never the broadcast */
            send_counted(id, ICR_ASSERT | ICR_FIXED | FIXED_VECTOR, id == own_id);
            send_counted(id, ICR_ASSERT | ICR_NMI, id == own_id);
        }
    send_counted(broadcast, ICR_ASSERT | ICR_FIXED | FIXED_VECTOR, 1);
    send_counted(broadcast, ICR_ASSERT | ICR_NMI, 1);

    if (x2apic) {
        u32 ldr = (u32)rdmsr(MSR_X2APIC_LDR);
        for (u32 cluster = 0; cluster < 16; ++cluster)
            for (u32 bit = 0; bit < 16; ++bit) {
                u32 dest = cluster << 16 | 1u << bit;
                send_counted(dest, ICR_ASSERT | ICR_LOGICAL | FIXED_VECTOR,
                             (dest >> 16) == (ldr >> 16) && (dest & ldr & 0xffff));
            }
    } else {
        for (u32 dest = 1; dest < 0x100; ++dest)
            send_counted(dest, ICR_ASSERT | ICR_LOGICAL | FIXED_VECTOR, dest & 1);
    }

    for (u32 id = 0; id < ids; ++id)
        if (id != own_id) init_and_sipi(id);
    send(0, ICR_ALL_EXCLUDING_SELF | ICR_ASSERT | ICR_FIXED | FIXED_VECTOR);
    send(0, ICR_ALL_EXCLUDING_SELF | ICR_ASSERT | ICR_NMI);
    send(0, ICR_ALL_EXCLUDING_SELF | ICR_ASSERT | ICR_LEVEL_TRIGGER | ICR_INIT);
    send(0, ICR_ALL_EXCLUDING_SELF | ICR_ASSERT | ICR_STARTUP | SIPI_PAGE);
    rounds++;
}

/* Rounds until `end`; then a pause for stragglers, and the counts must be exactly as sent. */
static void storm_until(u64 end, const char *mode)
{
    rounds = 0;
    do round_of_ipis();
    while (rdtsc() < end);
    for (u64 t = rdtsc(); rdtsc() - t < 1000000;) pause();
    CHECK(fixed_count == fixed_expected && nmi_count == nmi_expected,
          "%s, %u rounds: %u fixed IPIs and %u NMIs arrived, exactly those sent to its own IDs (%u, %u)", mode,
          rounds, fixed_count, nmi_count, fixed_expected, nmi_expected);
}

int main(void)
{
    u64 half = cmdline_number("ticks", 50) * 1000000 / 2;
    set_handler(FIXED_VECTOR, fixed_handler);
    set_handler(NMI_VECTOR, nmi_handler);
    lapic_write(LAPIC_SVR, 0x1ff);
    lapic_write(LAPIC_TPR, 0);
    lapic_write(LAPIC_DFR, 0xffffffff); /* flat model */
    lapic_write(LAPIC_LDR, 1u << 24);   /* logical ID: bit 0 */
    own_id = lapic_id();
    sti();
    storm_until(rdtsc() + half, "xAPIC");

    if (!(cpuid(1, 0).ecx & CPUID1_ECX_X2APIC)) {
        skip("the x2APIC storm (no x2APIC in CPUID)");
        finish();
    }
    cli();
    wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | APIC_BASE_X2APIC);
    x2apic = 1;
    own_id = (u32)rdmsr(MSR_X2APIC_ID);
    sti();
    storm_until(rdtsc() + half, "x2APIC");
    finish();
}
