#!/usr/bin/env bash
# Control registers: CR0.CD/NW/NE/WP... round trips (shadowed where VMX forces bits), CR4.VMXE
# reads 0 and setting it is a #GP, CR4 feature bits round-trip.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot "" 0 --emulator bochs cr
expect_line "[cr] ok setting CR4.VMXE with VMX hidden raises #GP (#GP)"
expect_line "[cr] PASS cr"
expect_line "matryoshka: vm cr ended: debug-exit 0"
expect_line "matryoshka: exit status 0"
pass
