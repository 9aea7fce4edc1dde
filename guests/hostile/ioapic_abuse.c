/* hostile ioapic_abuse: I/O APIC redirection entries aimed at every destination, with reserved delivery modes, vectors 0-15 and level-triggered storms.
 * hardware: the 82093AA (datasheet 3.2.4) sends an entry's message while its pin is asserted:
 * edge entries on the asserting edge, level entries while asserted, unmasked and Remote IRR
 * clear (set on delivery, cleared by the local APIC's EOI broadcast of the vector; a switch to
 * edge and back clears it too, the EOI of I/O APICs before version 0x20 that Linux uses). The
 * message reaches the local APICs of this machine only: physical destination = APIC ID, 0xFF
 * broadcast; logical flat = LDR bits. SMI goes to SMM, ExtINT asks an 8259 for the vector, modes
 * 3 and 6 are reserved: on this machine (no SMM for a VM, the 8259s' output is not wired) none
 * reaches the CPU. NMI delivers an NMI whatever the vector. A fixed vector 0-15 is refused by
 * the receiving local APIC, which sets ESR bit 6 "receive illegal vector" (SDM Vol. 3A "Error
 * Handling"). A level entry whose handler EOIs while the pin stays asserted interrupts again
 * at once (a storm); one never EOIed interrupts once.
 * expect: contained
 * The source is GSI 9, the SCI: the VM's PM block never raises it, so its pin idles high (the
 * MADT says active low): programmed active high, it is asserted for good. Deliveries are
 * synchronous (the write that unmasks the entry posts the interrupt before the guest's next
 * instruction), so the counts are exact. The canary VM has an APIC ID 0 too and takes no
 * interrupts: any message that left this VM would end it with FAIL. */
#include "platform.h"

TEST("ioapic_abuse");

#define LAPIC_LDR 0xd0
#define VECTOR_ROUTE 0x60
#define VECTOR_MODE 0x61
#define VECTOR_STORM 0x62
#define VECTOR_NO_EOI 0x63
#define STORM_INTERRUPTS 5000
#define ESR_RECEIVE_ILLEGAL_VECTOR (1u << 6)

static volatile u32 routed, mode_hits, nmis, storm, no_eoi;

static void mask_sci(u32 vector) { ioapic_write(IOAPIC_ENTRY_LOW(SCI_GSI), IOAPIC_MASKED | IOAPIC_LEVEL | vector); }

/* Clears Remote IRR (masked edge), then programs the SCI's entry: level, active high. */
static void arm(u32 destination, u32 flags, u32 vector)
{
    ioapic_write(IOAPIC_ENTRY_LOW(SCI_GSI), IOAPIC_MASKED);
    ioapic_write(IOAPIC_ENTRY_HIGH(SCI_GSI), destination << 24);
    ioapic_write(IOAPIC_ENTRY_LOW(SCI_GSI), IOAPIC_LEVEL | flags | vector);
}

static void once_handler(struct frame *f)
{
    if (f->vector == VECTOR_ROUTE) ++routed;
    else ++mode_hits;
    mask_sci(f->vector);
    lapic_write(LAPIC_EOI, 0);
}

static void nmi_handler(struct frame *f)
{
    (void)f;
    ++nmis;
}

static void storm_handler(struct frame *f)
{
    if (++storm == STORM_INTERRUPTS) mask_sci(f->vector);
    lapic_write(LAPIC_EOI, 0);
}

static void no_eoi_handler(struct frame *f)
{
    (void)f;
    ++no_eoi;
}

int main(void)
{
    lapic_write(LAPIC_SVR, 0x1ff);
    set_handler(VECTOR_ROUTE, once_handler);
    set_handler(VECTOR_MODE, once_handler);
    set_handler(2, nmi_handler);
    set_handler(VECTOR_STORM, storm_handler);
    set_handler(VECTOR_NO_EOI, no_eoi_handler);
    set_handler(0xff, no_eoi_handler); /* spurious: counted as a failure below */
    sti();

    for (u32 d = 0; d < 256; ++d) arm(d, 0, VECTOR_ROUTE);
    CHECK(routed == 2, "physical destinations 0-0xff: delivered to ID 0 and the broadcast 0xff only (%u)", routed);
    routed = 0;
    lapic_write(LAPIC_LDR, 0x01000000u);
    for (u32 d = 0; d < 256; ++d) arm(d, IOAPIC_LOGICAL, VECTOR_ROUTE);
    CHECK(routed == 128, "logical flat destinations 0-0xff with LDR 0x01: the 128 with bit 0 (%u)", routed);

    static const char *const modes[8] = {"fixed", "lowest priority", "SMI", "reserved 3", "NMI", "INIT to ID 0x0f",
                                         "reserved 6", "ExtINT"};
    static const u32 hits[8] = {1, 1, 0, 0, 0, 0, 0, 0};
    for (u32 m = 0; m < 8; ++m) {
        mode_hits = nmis = 0;
        arm(m == 5 ? 0x0f : 0, IOAPIC_MODE(m), VECTOR_MODE);
        for (u32 i = 0; i < 100; ++i) pause();
        CHECK(mode_hits == hits[m] && nmis == (m == 4), "delivery mode %u (%s): %u interrupts, %u NMIs", m, modes[m],
              mode_hits, nmis);
    }

    u32 bad = 0;
    for (u32 v = 0; v < 16; ++v) {
        lapic_write(LAPIC_ESR, 0);
        arm(0, 0, v);
        lapic_write(LAPIC_ESR, 0);
        if (!(lapic_read(LAPIC_ESR) & ESR_RECEIVE_ILLEGAL_VECTOR)) ++bad;
    }
    CHECK(!bad, "fixed vectors 0-15: no exception, the local APIC's ESR reads 'receive illegal vector' (%u without)", bad);
    lapic_write(LAPIC_ESR, 0);

    arm(0, 0, VECTOR_STORM);
    CHECK(storm == STORM_INTERRUPTS, "level storm, EOI in the handler while asserted: %u interrupts back to back (%u)",
          STORM_INTERRUPTS, storm);

    arm(0, 0, VECTOR_NO_EOI);
    ioapic_write(IOAPIC_ENTRY_LOW(SCI_GSI), IOAPIC_LEVEL | VECTOR_NO_EOI);
    u32 entry = ioapic_read(IOAPIC_ENTRY_LOW(SCI_GSI));
    CHECK(no_eoi == 1 && (entry & IOAPIC_REMOTE_IRR), "level, never EOIed: one interrupt, Remote IRR set (0x%08x)", entry);
    mask_sci(VECTOR_NO_EOI);
    lapic_write(LAPIC_EOI, 0);
    entry = ioapic_read(IOAPIC_ENTRY_LOW(SCI_GSI));
    CHECK(no_eoi == 1 && !(entry & IOAPIC_REMOTE_IRR), "the EOI clears Remote IRR; masked, nothing more (0x%08x)", entry);

    /* The MADT's setting back: level, active low, masked. */
    ioapic_write(IOAPIC_ENTRY_LOW(SCI_GSI), IOAPIC_MASKED);
    ioapic_write(IOAPIC_ENTRY_LOW(SCI_GSI), IOAPIC_MASKED | IOAPIC_LEVEL | IOAPIC_ACTIVE_LOW);
    cli();
    finish();
}
