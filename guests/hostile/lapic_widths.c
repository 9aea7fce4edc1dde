/* hostile lapic_widths: the local APIC page with byte, word, misaligned and bytes-4-to-15 accesses.
 * hardware: SDM Vol. 3A 11.4.1: registers are 128-bit aligned and must be accessed with aligned
 * 32-bit loads and stores; smaller accesses work on some models only, and "any access that
 * touches bytes 4 through 15 of an APIC register may cause undefined behavior". Matryoshka's
 * choice for what hardware leaves open (vlapic::Vlapic::read_mmio/write_mmio): a read of size
 * 1, 2 or 4 inside bytes 0-3 returns those bytes of the register, a read starting in bytes 4-15
 * returns 0, writes other than an aligned dword are ignored; the VM goes on. 8- and 16-byte
 * accesses need x87/MMX/SSE in 32-bit code (lapic_sse).
 * expect: contained
 * Checked under Matryoshka (natively SKIP where a model behaves otherwise): the version register
 * 0xFEE00030 through each form, the TPR untouched by narrow and misplaced writes. Then the same
 * narrow, misaligned and misplaced accesses as an exit flood (flood.h, cmdline ticks=), every
 * answer checked: each is an EPT violation and an emulated instruction, whose cost must be
 * charged to this VM so the canary keeps its share over a window long enough to measure it. */
#include "flood.h"

TEST("lapic_widths");

#define VER (LAPIC_BASE + LAPIC_VERSION)
#define TPR (LAPIC_BASE + LAPIC_TPR)

static u32 version;

/* A byte read at +1, a misaligned word at +1, a dword in bytes 4-7 and a byte write to the TPR:
 * the version's byte and bytes 1-2, 0, and the TPR unchanged (0). */
static u32 flood_widths_batch(void)
{
    u32 wrong = 0;
    for (u32 i = 0; i < FLOOD_BATCH; i += 4) {
        wrong += *(volatile u8 *)(VER + 1) != (u8)(version >> 8);
        wrong += *(volatile u16 *)(VER + 1) != (u16)(version >> 8);
        wrong += mmio_read32(VER + 4) != 0;
        *(volatile u8 *)TPR = (u8)i;
    }
    return wrong + (lapic_read(LAPIC_TPR) != 0);
}

int main(void)
{
    u32 v = mmio_read32(VER);
    note("version register 0x%08x", v);
    int bytes_ok = 1;
    for (u32 i = 0; i < 4; ++i) bytes_ok &= *(volatile u8 *)(VER + i) == (u8)(v >> (8 * i));
    CHECK_HV(bytes_ok, "byte reads at +0..+3 give the version's bytes");
    CHECK_HV(*(volatile u16 *)VER == (u16)v && *(volatile u16 *)(VER + 2) == (u16)(v >> 16),
             "word reads at +0 and +2 give its halves");
    CHECK_HV(*(volatile u16 *)(VER + 1) == (u16)(v >> 8), "misaligned word read at +1: 0x%04x",
             *(volatile u16 *)(VER + 1));
    CHECK_HV(mmio_read32(VER + 2) == v >> 16, "misaligned dword read at +2 (bytes 2-5): 0x%08x", mmio_read32(VER + 2));
    CHECK_HV(mmio_read32(VER + 4) == 0 && mmio_read32(VER + 8) == 0 && mmio_read32(VER + 12) == 0 &&
                 *(volatile u8 *)(VER + 15) == 0,
             "reads in bytes 4-15 give 0");

    lapic_write(LAPIC_TPR, 0x20);
    *(volatile u8 *)TPR = 0x30;
    *(volatile u16 *)TPR = 0x40;
    *(volatile u8 *)(TPR + 1) = 0x50;
    mmio_write32(TPR + 4, 0x60);
    mmio_write32(TPR + 2, 0x70);
    __asm__ volatile("orb $0x0f, (%0)" : : "r"(TPR) : "memory", "cc");
    u32 t = lapic_read(LAPIC_TPR);
    CHECK_HV(t == 0x20, "byte, word, misaligned and bytes-4-7 writes leave the TPR at 0x20 (0x%x)", t);
    lapic_write(LAPIC_TPR, 0);
    CHECK(lapic_read(LAPIC_TPR) == 0 && mmio_read32(VER) == v, "aligned dword accesses still work");
    version = v;
    struct flood_result r = flood(flood_widths_batch, flood_ticks());
    CHECK_HV(r.wrong == 0, "narrow, misaligned and misplaced accesses, %llu in %llu ticks: %llu wrong answers",
             r.operations, r.ticks, r.wrong);
    finish();
}
