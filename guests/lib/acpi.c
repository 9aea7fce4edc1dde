/* Finding ACPI tables as on a PC BIOS (ACPI 6.5 §5.2.5.1): the RSDP in the EBDA's first KiB, then
 * 0xE0000-0xFFFFF; the tables through the RSDT. */
#include "guest.h"

static int checksum_ok(const u8 *p, u32 len)
{
    u8 sum = 0;
    for (u32 i = 0; i < len; ++i) sum += p[i];
    return sum == 0;
}

static const u8 *find_rsdp(u32 start, u32 end)
{
    for (u32 a = start; a + 20 <= end; a += 16) {
        const u8 *p = (const u8 *)(uintptr_t)a;
        if (!memcmp(p, "RSD PTR ", 8) && checksum_ok(p, 20)) return p;
    }
    return 0;
}

const u8 *acpi_find_table(const char *signature)
{
    uintptr_t bda_ebda = 0x40e; /* the BIOS data area's EBDA segment */
    __asm__("" : "+r"(bda_ebda)); /* hides the constant address from -Warray-bounds */
    u32 ebda = (u32)*(volatile u16 *)bda_ebda << 4;
    const u8 *rsdp = ebda >= 0x80000 && ebda < 0xa0000 ? find_rsdp(ebda, ebda + 1024) : 0;
    if (!rsdp) rsdp = find_rsdp(0xe0000, 0x100000);
    if (!rsdp) return 0;
    const u8 *rsdt = (const u8 *)(uintptr_t)*(const u32 *)(rsdp + 16);
    if (!rsdt || memcmp(rsdt, "RSDT", 4)) return 0;
    u32 len = *(const u32 *)(rsdt + 4);
    for (u32 off = 36; off + 4 <= len; off += 4) {
        const u8 *t = (const u8 *)(uintptr_t)*(const u32 *)(rsdt + off);
        if (t && !memcmp(t, signature, 4) && checksum_ok(t, *(const u32 *)(t + 4))) return t;
    }
    return 0;
}
