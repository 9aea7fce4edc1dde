#!/usr/bin/env bash
# exit=acpi (the default on real machines): after its last line the hypervisor powers the machine
# off through the FADT's PM1 control block and \_S5, in Bochs (VMX root reached) and in QEMU
# (refused, no VT-x).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot bochs 0 --emulator bochs --cpus 1 --hv-args "exit=acpi"
expect_line "matryoshka: 1 of 1 CPUs in VMX root"
expect_match "^matryoshka: ACPI: .* S5 yes"
boot qemu 2 --emulator qemu --hv-args "exit=acpi"
expect_line "matryoshka: exit status 2"
pass
