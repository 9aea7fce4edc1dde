/* reboot: a guest that resets its machine and checks that it comes back fresh (on_reboot=restart,
 * vmx/vm_reset.hpp). It counts its boots in CMOS NVRAM byte 0x50, which a PC keeps across a
 * reset (battery-backed), and prints "reboot: boot N" each time. Every boot checks that nothing
 * else of the previous boot survived: an initialised variable holds its initial value, a .bss
 * variable and a RAM word at 8 MiB are zero, the UART's scratch register is 0 and the local
 * APIC is software-disabled (SVR 0xFF), as after power-on; then it dirties all of them. Boot 0
 * resets through the PIIX reset control register (0xCF9 = 6), boot 1 through the 8042 (0xFE to
 * port 0x64); with boots=N on the command line (default 3) boot N-1 passes (debug-exit 0)
 * instead of resetting. The CMOS byte is cleared before the pass, so the next run starts at 0. */
#include "guest.h"

TEST("reboot");

#define CMOS_BOOTS 0x50
#define FAR_WORD 0x800000u
#define UART_SCRATCH (COM1 + 7)
#define LAPIC_SVR 0xfee000f0u

static volatile u32 initialised = 0x1234abcd;
static volatile u32 zeroed;

static u8 cmos_read(u8 index)
{
    outb(0x70, index);
    return inb(0x71);
}

static void cmos_write(u8 index, u8 value)
{
    outb(0x70, index);
    outb(0x71, value);
}

int main(u32 magic, struct mb_info *info)
{
    (void)info;
    u32 boots = (u32)cmdline_number("boots", 3);
    u8 boot = cmos_read(CMOS_BOOTS);
    printf("reboot: boot %u\n", boot);
    ASSERT(boots >= 1 && boot < boots);
    CHECK(magic == MB1_BOOT_MAGIC, "EAX is the Multiboot magic again (0x%x)", magic);
    CHECK(initialised == 0x1234abcd, "an initialised variable holds its initial value (0x%x)", initialised);
    CHECK(zeroed == 0, "a .bss variable is zero (0x%x)", zeroed);
    CHECK(mmio_read32(FAR_WORD) == 0, "the RAM word at 8 MiB is zero (0x%x)", mmio_read32(FAR_WORD));
    CHECK(inb(UART_SCRATCH) == 0, "the UART's scratch register is 0 (0x%x)", inb(UART_SCRATCH));
    CHECK((mmio_read32(LAPIC_SVR) & 0x1ff) == 0xff, "the local APIC is software-disabled, SVR 0x%x",
          mmio_read32(LAPIC_SVR));
    initialised = 0xdead;
    zeroed = 1;
    mmio_write32(FAR_WORD, 0x5a5a5a5a);
    outb(UART_SCRATCH, 0x5a);
    mmio_write32(LAPIC_SVR, 0x1ff);
    if (checks_failed) finish();  /* a FAIL now, not another boot */
    if (boot + 1u == boots) {
        cmos_write(CMOS_BOOTS, 0);
        finish();
    }
    cmos_write(CMOS_BOOTS, (u8)(boot + 1));
    printf("reboot: resetting through %s\n", boot == 0 ? "0xCF9" : "the 8042");
    uart_flush();
    if (boot == 0) outb(0xcf9, 6);
    else outb(0x64, 0xfe);
    fail(1, "still running after the reset");
}
