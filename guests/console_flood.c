/* console_flood: more console output than the hypervisor queues for its UART. Prints lines=N
 * (default 400) numbered lines of 100 bytes, "flood NAME line IIII " and a fixed run of letters
 * (name=NAME, default "flood"), then PASS. Two of these at once send ~80 KiB through the
 * hypervisor's 64 KiB serial queue: each waits for room in its share (polling LSR), and the
 * integration test checks that every line arrives whole, once and in order.
 * raw=1 writes the lines to THR with REP OUTSB without looking at LSR, as a careless driver
 * does: what the UART cannot take while busy is lost (the PASS line, polled, still arrives). */
#include "guest.h"

TEST("console_flood");

#define LINE_BYTES 100

int main(void)
{
    char given[16];
    const char *name = cmdline_get("name", given, sizeof given) ? given : "flood";
    u32 lines = (u32)cmdline_number("lines", 400);
    /* "flood NAME line IIII " + letters + '\n' = LINE_BYTES */
    char letters[LINE_BYTES];
    int letter_count = LINE_BYTES - (int)(sizeof "flood  line 0000 " - 1 + strlen(name)) - 1;
    if (letter_count < 1) fail(EXIT_ASSERT, "name=%s is too long", name);
    for (int i = 0; i < letter_count; ++i) letters[i] = (char)('a' + i % 26);
    letters[letter_count] = 0;
    int raw = (int)cmdline_number("raw", 0);
    for (u32 i = 0; i < lines; ++i) {
        if (!raw) {
            printf("flood %s line %04u %s\n", name, i, letters);
            continue;
        }
        char line[LINE_BYTES + 1];
        int length = snprintf(line, sizeof line, "flood %s line %04u %s\n", name, i, letters);
        const char *p = line;
        __asm__ volatile("rep outsb" : "+S"(p), "+c"(length) : "d"(COM1) : "memory");
    }
    note("%u lines of %u bytes", lines, LINE_BYTES);
    finish();
}
