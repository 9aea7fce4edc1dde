/* hostile io_reset_kbc: resets the machine through the keyboard controller: command 0xFE to port 0x64.
 * hardware: the 8042's commands 0xF0-0xFF pulse the output-port lines whose bit is clear in the
 * low nibble; line 0 is the CPU reset line, so 0xFE resets the machine (the oldest PC reboot).
 * expect: ended ^reboot$
 * Under Matryoshka the VM's 8042 is its reset line alone (drivers/virtual/kbc_reset.hpp): status
 * 0x64 reads 0 (both buffers empty, so a kernel waiting to send 0xFE does not spin), no keyboard
 * at 0x60 (all ones). The reset ends the VM alone with the reason `reboot`; the other VMs run on.
 * First commands that must not reset: 0xFF (pulses nothing), 0xF1 (pulses line 1, not line 0),
 * 0xD1 (write output port), 0x20 (read command byte). */
#include "guest.h"

TEST("io_reset_kbc");

int main(void)
{
    u8 status = inb(0x64);
    CHECK(status == 0x00, "8042 status port 0x64 reads 0x%02x (0: buffers empty)", status);
    CHECK(inb(0x60) == 0xff, "no keyboard: data port 0x60 reads all ones");
    outb(0x64, 0xff);
    outb(0x64, 0xf1);
    outb(0x64, 0xd1);
    outb(0x64, 0x20);
    CHECK(1, "commands 0xff, 0xf1, 0xd1, 0x20 did not reset the VM");
    if (checks_failed) finish();
    printf("io_reset_kbc: writing 0xfe to port 0x64: the VM should end here with a reset report\n");
    uart_flush();
    outb(0x64, 0xfe);
    fail(EXIT_FAIL, "still running after 0xfe to port 0x64");
}
