/* memfill: memory isolation. Fills every byte of usable RAM above its image and the boot data
 * (from the Multiboot memory map, below 4 GiB) with words derived from the address and a
 * pattern byte, yields a few times (LAPIC one-shot timer + HLT, and a PAUSE loop), and verifies
 * everything after each yield. Run as two VMs at once with different patterns: each must see
 * only its own words (shared or swapped memory, or an aliased page, shows as a mismatch).
 * Command line: pattern=0xNN (default: derived from name=NAME, else 0xa5), rounds=N (default 3). */
#include "guest.h"

TEST("memfill");

struct region {
    u32 start, end;
};
static struct region regions[32];
static u32 region_count;
static u32 low_mark;
static u32 pattern_word;

static void add_region(u64 addr, u64 len, u32 type, void *ctx)
{
    (void)ctx;
    if (type != 1 || region_count == ARRAY_SIZE(regions)) return;
    u64 start = addr, end = addr + len;
    if (end > 0x100000000ull) end = 0x100000000ull;
    if (start < low_mark) start = low_mark;
    start = (start + 4095) & ~4095ull;
    end &= ~4095ull;
    if (start >= end) return;
    regions[region_count++] = (struct region){(u32)start, (u32)(end - 1) + 1};
}

static inline u32 word_for(u32 addr) { return (addr * 0x9e3779b1u) ^ pattern_word; }

static void fill(void)
{
    for (u32 r = 0; r < region_count; ++r)
        for (u32 a = regions[r].start; a != regions[r].end; a += 4) *(volatile u32 *)a = word_for(a);
}

/* Returns the number of wrong words; reports the first. */
static u32 verify(u32 *first_addr, u32 *first_value)
{
    u32 bad = 0;
    for (u32 r = 0; r < region_count; ++r)
        for (u32 a = regions[r].start; a != regions[r].end; a += 4) {
            u32 v = *(volatile u32 *)a;
            if (v != word_for(a) && !bad++) {
                *first_addr = a;
                *first_value = v;
            }
        }
    return bad;
}

static volatile u32 timer_ticks;
static void timer_handler(struct frame *f)
{
    (void)f;
    timer_ticks++;
    lapic_write(LAPIC_EOI, 0);
}

/* Gives the CPU away: a few HLTs woken by a one-shot timer, then a PAUSE loop. */
static void yield(void)
{
    for (int i = 0; i < 4; ++i) {
        u32 before = timer_ticks;
        lapic_write(LAPIC_TIMER_INIT, 200000);
        sti();
        if (!wait_for(&timer_ticks, before + 1, 2000000000ull)) fail(EXIT_TIMEOUT, "the yield timer never fired");
        cli();
        lapic_write(LAPIC_TIMER_INIT, 200000);
        sti_hlt();
        cli();
    }
    for (u64 t = rdtsc(); rdtsc() - t < 2000000;) pause();
}

int main(void)
{
    char text[40];
    u32 pattern = 0xa5;
    if (cmdline_get("pattern", text, sizeof text)) {
        pattern = (u32)parse_number(text, 0) & 0xff;
    } else if (cmdline_get("name", text, sizeof text)) {
        pattern = 0;
        for (const char *p = text; *p; ++p) pattern = pattern * 31 + (u8)*p;
        pattern = (pattern ^ pattern >> 8) & 0xff;
    }
    pattern_word = pattern * 0x01010101u;
    u32 rounds = (u32)cmdline_number("rounds", 3);

    low_mark = boot_data_end();
    if (low_mark < 0x100000) low_mark = 0x100000;
    ASSERT(boot_info && (boot_info->flags & (MB_INFO_MMAP | MB_INFO_MEM)));
    mmap_foreach(add_region, 0);
    u64 bytes = 0;
    for (u32 r = 0; r < region_count; ++r) {
        note("region 0x%08x-0x%08x", regions[r].start, regions[r].end - 1);
        bytes += regions[r].end - regions[r].start;
    }
    ASSERT(region_count > 0);
    printf("memfill: pattern 0x%02x over %llu KiB in %u regions above 0x%x\n", pattern, bytes >> 10, region_count,
           low_mark);

    set_handler(0x40, timer_handler);
    lapic_write(LAPIC_SVR, 0x1ff);
    lapic_write(LAPIC_TIMER_DIVIDE, 3);
    lapic_write(LAPIC_LVT_TIMER, 0x40); /* one-shot */

    fill();
    note("filled");
    for (u32 round = 1; round <= rounds; ++round) {
        yield();
        u32 addr = 0, value = 0;
        u32 bad = verify(&addr, &value);
        CHECK(bad == 0, "round %u: %llu KiB intact after yielding (%u wrong words%s)", round, bytes >> 10, bad,
              bad ? ", see below" : "");
        if (bad) {
            note("first wrong word at 0x%08x: 0x%08x, expected 0x%08x (pattern byte there: 0x%02x)", addr, value,
                 word_for(addr), (value ^ addr * 0x9e3779b1u) & 0xff);
            break;
        }
    }
    lapic_write(LAPIC_LVT_TIMER, 0x10040);
    finish();
}
