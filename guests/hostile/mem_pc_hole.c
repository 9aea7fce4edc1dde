/* hostile mem_pc_hole: reads and writes the PC hole [640 KiB, 1 MiB) with every access width.
 * hardware: a PC without a VGA card or option ROMs decodes nothing at 0xA0000-0xDFFFF, so reads
 * return all ones and writes vanish (a master abort); OSes probe the area for ROM signatures
 * (0x55AA) and BIOS tables. Matryoshka gives exactly that for the whole hole, 0xE0000-0xFFFFF
 * included (a VM has no BIOS ROM): no VGA framebuffer (0xB8000 too), no ROM.
 * expect: contained
 * Accesses: MOV byte/word/dword, MOVZX, a read-modify-write (OR), REP MOVSD out of the hole, at
 * the first byte, in the VGA text buffer, the option-ROM area and the last dword below 1 MiB. */
#include "guest.h"

TEST("mem_pc_hole");

static int all_ones_at(u32 address)
{
    volatile u8 *b = (volatile u8 *)address;
    volatile u16 *w = (volatile u16 *)address;
    volatile u32 *d = (volatile u32 *)address;
    u8 byte = *b;
    u16 word = *w;
    u32 dword = *d, zx;
    __asm__ volatile("movzbl (%1), %0" : "=r"(zx) : "r"(address));
    return byte == 0xff && word == 0xffff && dword == 0xffffffffu && zx == 0xff;
}

int main(void)
{
    static const u32 places[] = {0xa0000, 0xb8000, 0xb8f9e, 0xc0000, 0xe0000, 0xffffc};
    for (u32 i = 0; i < ARRAY_SIZE(places); ++i)
        CHECK(all_ones_at(places[i]), "0x%05x reads all ones as byte, word, dword and movzx", places[i]);
    CHECK(*(volatile u16 *)0xc0000 != 0xaa55, "no option ROM signature at 0xc0000");

    /* Writes vanish. */
    *(volatile u16 *)0xb8000 = 0x0741; /* 'A', grey on black */
    *(volatile u8 *)0xa0001 = 0;
    *(volatile u32 *)0xf0000 = 0;
    __asm__ volatile("orl $0x1234, 0xd0000" ::: "memory", "cc");
    CHECK(all_ones_at(0xb8000) && all_ones_at(0xa0000) && all_ones_at(0xf0000) && all_ones_at(0xd0000),
          "writes (mov word/byte/dword, or m32) leave all ones behind");

    u32 copy[4] = {0, 0, 0, 0};
    u32 esi = 0xfeff0, edi = (u32)(uintptr_t)copy, ecx = 4;
    __asm__ volatile("rep movsl" : "+S"(esi), "+D"(edi), "+c"(ecx) : : "memory");
    note("copy %08x %08x %08x %08x esi 0x%x ecx %u", copy[0], copy[1], copy[2], copy[3], esi, ecx);
    CHECK(copy[0] == 0xffffffffu && copy[3] == 0xffffffffu && ecx == 0 && esi == 0xff000,
          "rep movsd x4 from 0xfeff0 copies all ones");
    finish();
}
