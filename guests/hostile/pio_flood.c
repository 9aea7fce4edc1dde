/* hostile pio_flood: OUT and IN on port 0x300 (nothing decodes it) in a tight loop, to starve others.
 * hardware: a write to a port no device decodes is dropped and a read gives all ones (0xFF), every
 *   time; the loop runs until its duration (cmdline ticks=M million TSC ticks), then PASS. Every
 *   access exits (Matryoshka's I/O bitmaps trap all ports) and is charged to this VM.
 * expect: contained
 * smp: pin=1
 */
#include "flood.h"

TEST("pio_flood");

int main(void)
{
    flood_report("port 0x300 read 0xff", flood(flood_pio_batch, flood_ticks()));
    finish();
}
