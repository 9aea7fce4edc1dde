#!/usr/bin/env bash
# Every test guest without the hypervisor (tools/run-vm --native, QEMU TCG: GRUB's multiboot
# command, or -bios for realmode): the guests themselves are right where the hardware (here QEMU)
# is. Checks that need Matryoshka print SKIP. The hostile catalogue's scenarios that hardware lets
# finish (guests/hostile/) run too; triple_fault ends without a verdict (1).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
for guest in hello cpuid msr cr io_uart lapic_timer_hlt lapic_mmio exceptions long_mode memfill bench realmode; do
    boot "$guest" 0 --emulator qemu --native "$guest"
    expect_match "^PASS $guest$"
done
make -s -C "$ROOT" guests >/dev/null 2>&1 || fail "make guests failed"
for guest in memory_beyond_ram vmx_instructions feature_control_write; do
    boot "$guest" 0 --emulator qemu --native "$ROOT/build/guests/hostile/$guest.elf"
    expect_match "^PASS $guest$"
done
boot triple_fault 1 --emulator qemu --native "$ROOT/build/guests/hostile/triple_fault.elf"
expect_match "^triple_fault: loading an empty IDT"
pass
