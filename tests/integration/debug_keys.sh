#!/usr/bin/env bash
# Debug keys on the serial console (drivers/debug_keys.hpp), in QEMU: no VT-x there, so with
# exit=halt the hypervisor refuses and then waits on the console. `h` and an unknown key list the
# keys (a newline is ignored), `t` says no scheduler runs, `r` reboots (QEMU runs with -no-reboot: the reset ends it with exit
# code 0, and without an exit status run-vm says 1), `p` powers off through ACPI S5, status 4.
# Then with 2 CPUs and selftest=hang-ap, CPU 1 never finishes its boot work and the boot CPU waits
# for it forever (as it waits for the other CPUs' vCPU loops): the keys still answer there.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
KEYS="matryoshka: debug keys: r reboot, p power off, t scheduler metrics and trace, h this list"
boot reboot 1 --emulator qemu --hv-args "exit=halt" --serial-input "h\nxtr" --serial-input-after "^matryoshka: halted$"
expect_line "matryoshka: exit status 2"
[[ $(grep -cxF -- "$KEYS" "$LOG") == 2 ]] || fail "expected the key list exactly twice (h, newline ignored, x)"
expect_line "matryoshka: scheduler: not running"
expect_line "matryoshka: rebooting"
expect_line "run-vm: QEMU exit code 0"
boot poweroff 4 --emulator qemu --hv-args "exit=halt" --serial-input "p" --serial-input-after "^matryoshka: halted$"
expect_line "matryoshka: power-off requested on the console"
expect_line "matryoshka: exit status 4"
boot waiting 4 --emulator qemu --cpus 2 --hv-args "selftest=hang-ap" --serial-input "hp" \
    --serial-input-after "^matryoshka: selftest hang-ap: CPU 1 never finishes; the boot CPU waits for it$"
expect_line "matryoshka: 2 of 2 CPUs started"
[[ $(grep -cxF -- "$KEYS" "$LOG") == 1 ]] || fail "expected the key list once (h) while the boot CPU waits"
expect_line "matryoshka: power-off requested on the console"
expect_line "matryoshka: exit status 4"
pass
