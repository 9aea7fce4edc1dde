/* hello: the boot protocol. Prints "hello from NAME" and the command line, then checks the
 * Multiboot magic and that the memory the boot information describes (mem_lower/mem_upper and
 * the memory map) agrees with the other two views of the RAM size: fw_cfg (FW_CFG_RAM_SIZE) and
 * the CMOS memory-size bytes. Command line: name=NAME (the name to greet with, default "hello"),
 * expect_mem=SIZE (e.g. 32M: the RAM the map must describe, to the MiB), expect_modules=N (the
 * number of modules, i.e. files for this guest, the boot information must list). */
#include "guest.h"

TEST("hello");

#define MIB (1024u * 1024u)

struct ram {
    u64 total;         /* all type-1 bytes */
    u64 top_below_4g;  /* end of the highest type-1 region below 4 GiB */
    u64 upper_end;     /* end of the type-1 region that holds 1 MiB */
    u32 regions, usable_regions;
    int image_in_ram;
};

static void count_region(u64 addr, u64 len, u32 type, void *ctx)
{
    struct ram *r = ctx;
    printf("  mmap 0x%08llx-0x%08llx type %u\n", addr, addr + len - 1, type);
    r->regions++;
    if (type != 1) return;
    r->usable_regions++;
    r->total += len;
    u64 end = addr + len;
    if (end <= 0x100000000ull && end > r->top_below_4g) r->top_below_4g = end;
    if (addr <= 0x100000 && end > 0x100000) r->upper_end = end;
    if (addr <= (u32)(uintptr_t)image_start && end >= (u32)(uintptr_t)image_end) r->image_in_ram = 1;
}

static u8 cmos_read(u8 index)
{
    outb(0x70, index);
    return inb(0x71);
}

static u64 diff(u64 a, u64 b) { return a > b ? a - b : b - a; }

int main(u32 magic, struct mb_info *info)
{
    char name[40] = "hello";
    cmdline_get("name", name, sizeof name);
    printf("hello from %s\n", name);
    printf("  command line \"%s\"\n", boot_cmdline());
    CHECK(magic == MB1_BOOT_MAGIC, "EAX is the Multiboot v1 magic 0x2badb002 (got 0x%x)", magic);
    ASSERT(magic == MB1_BOOT_MAGIC && info);
    note("multiboot info at %p, flags 0x%x", (void *)info, info->flags);
    if (info->flags & MB_INFO_LOADER_NAME) note("boot loader \"%s\"", (const char *)(uintptr_t)info->boot_loader_name);
    CHECK((u32)(uintptr_t)info < 0x100000000ull && (u32)(uintptr_t)info >= 0x500, "info address is in RAM");

    struct ram r = {0, 0, 0, 0, 0, 0};
    CHECK(info->flags & MB_INFO_MEM, "mem_lower/mem_upper present (flags bit 0)");
    CHECK(info->flags & MB_INFO_MMAP, "memory map present (flags bit 6)");
    mmap_foreach(count_region, &r);
    note("mem_lower %u KiB, mem_upper %u KiB; map: %u regions, %u usable, %llu KiB usable", info->mem_lower,
         info->mem_upper, r.regions, r.usable_regions, r.total >> 10);
    CHECK(r.image_in_ram, "the image 0x%x-0x%x lies in usable RAM", (u32)(uintptr_t)image_start,
          (u32)(uintptr_t)image_end - 1);
    if (info->flags & MB_INFO_MEM) {
        CHECK(info->mem_lower >= 500 && info->mem_lower <= 640, "mem_lower %u KiB is conventional memory",
              info->mem_lower);
        CHECK(0x100000ull + ((u64)info->mem_upper << 10) == r.upper_end,
              "mem_upper (%u KiB) ends where the map's region at 1 MiB ends (0x%llx)", info->mem_upper, r.upper_end);
    }

    u32 modules = info->flags & MB_INFO_MODS ? info->mods_count : 0;
    const struct mb_module *mods = (const struct mb_module *)(uintptr_t)info->mods_addr;
    for (u32 i = 0; i < modules; ++i)
        note("module %u: 0x%x-0x%x (%u bytes) \"%s\"", i, mods[i].start, mods[i].end - 1, mods[i].end - mods[i].start,
             mods[i].string ? (const char *)(uintptr_t)mods[i].string : "");
    u64 want_modules = cmdline_number("expect_modules", ~0ull);
    if (want_modules != ~0ull) {
        CHECK(modules == want_modules, "%u module(s) as expected (expect_modules=%llu)", modules, want_modules);
        for (u32 i = 0; i < modules; ++i)
            CHECK(mods[i].end > mods[i].start && (mods[i].start & 0xfff) == 0 && mods[i].end <= 0xffffffffu,
                  "module %u is page-aligned and not empty", i);
    }

    u64 expect = cmdline_number("expect_mem", 0);
    if (expect) {
        /* The map may keep a little of the top for firmware use: round up to a MiB. */
        u64 top = (r.top_below_4g + MIB - 1) & ~(u64)(MIB - 1);
        CHECK(top == expect, "RAM ends at %llu MiB as configured (expect_mem=%llu MiB)", top >> 20, expect >> 20);
    }

    /* fw_cfg: the signature "QEMU" under key 0, the RAM size (little-endian u64) under key 3. */
    char sig[5] = {0};
    fw_cfg_read(0x0000, sig, 4);
    if (!memcmp(sig, "QEMU", 4)) {
        u64 ram_size = 0;
        fw_cfg_read(0x0003, &ram_size, 8);
        note("fw_cfg: signature QEMU, RAM size %llu KiB", ram_size >> 10);
        /* Below 4 GiB the top of RAM is the RAM size (less a few firmware pages at most). */
        if (ram_size)
            CHECK(r.top_below_4g <= ram_size && diff(ram_size, r.top_below_4g) <= MIB,
                  "fw_cfg RAM size %llu KiB matches the map's top of RAM %llu KiB", ram_size >> 10,
                  r.top_below_4g >> 10);
        else
            skip("fw_cfg RAM size (key 3 reads 0)");
    } else {
        skip("fw_cfg RAM size (no fw_cfg: signature reads %02x %02x %02x %02x)", (u8)sig[0], (u8)sig[1],
             (u8)sig[2], (u8)sig[3]);
    }

    /* CMOS 0x30/0x31: KiB above 1 MiB (up to 64 MiB); 0x34/0x35: 64 KiB units above 16 MiB. */
    u32 ext_kib = cmos_read(0x30) | (u32)cmos_read(0x31) << 8;
    u32 above16_64k = cmos_read(0x34) | (u32)cmos_read(0x35) << 8;
    u64 cmos_top = above16_64k ? 16ull * MIB + ((u64)above16_64k << 16) : MIB + ((u64)ext_kib << 10);
    note("CMOS: %u KiB above 1 MiB, %u x 64 KiB above 16 MiB: RAM top %llu KiB", ext_kib, above16_64k,
         cmos_top >> 10);
    if (ext_kib || above16_64k)
        CHECK(diff(cmos_top, r.top_below_4g) <= MIB, "CMOS RAM size %llu KiB matches the map's top of RAM %llu KiB",
              cmos_top >> 10, r.top_below_4g >> 10);
    else
        skip("CMOS RAM size (bytes 0x30/0x31/0x34/0x35 are 0)");
    finish();
}
