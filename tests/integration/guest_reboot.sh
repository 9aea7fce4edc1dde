#!/usr/bin/env bash
# on_reboot=restart (vmx/vm_reset.hpp): the reboot guest counts its boots in CMOS NVRAM, checks
# each time that its memory, UART and local APIC came back fresh, and resets through 0xCF9, then
# the 8042, then passes: with on_reboot=restart it boots three times. With max_restarts=1 its
# second reset ends it (reason reboot), and without on_reboot=restart its first reset does. Three
# VMs in one run; the two that end with reboot make the run's status 1.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

boot "" 1 --emulator bochs --cpus 2 "reboot,name=again,on_reboot=restart" \
    "reboot,name=once,on_reboot=restart,max_restarts=1" "reboot,name=ends"
for n in 0 1 2; do expect_line "[again] reboot: boot $n"; done
expect_line "matryoshka: vm again: reset by the guest: restart 1"
expect_line "matryoshka: vm again: reset by the guest: restart 2"
expect_line "[again] PASS reboot"
expect_line "matryoshka: vm again ended: debug-exit 0"
expect_line "[once] reboot: boot 1"
expect_line "matryoshka: vm once: reset by the guest: restart 1 of 1"
expect_line "[once] reboot: resetting through the 8042"
expect_line "matryoshka: vm once ended: reboot"
expect_line "[ends] reboot: resetting through 0xCF9"
expect_line "matryoshka: vm ends ended: reboot"
if grep -qE "^\[(again|once|ends)\] (not ok|FAIL)" "$LOG"; then fail "$(grep -m1 -E "^\[(again|once|ends)\] (not ok|FAIL)" "$LOG")"; fi
if grep -qE "^\[ends\] reboot: boot 1|^\[once\] reboot: boot 2|^matryoshka: vm (once|ends): reset by the guest: restart 2" "$LOG"; then
    fail "a VM restarted past its limit"
fi
[[ $(grep -c "^\[again\] ok " "$LOG") == 18 ]] || fail "not every boot of 'again' ran its 6 checks"
expect_line "matryoshka: exit status 1"
pass
