#!/usr/bin/env bash
# Booted by GRUB under OVMF (UEFI), the boot path reaches the VT-x check.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot "" 2 --emulator qemu --firmware uefi --cpus 2
expect_line "matryoshka: 2 of 2 CPUs started"
expect_line "matryoshka: error: this CPU does not support VT-x (CPUID.1:ECX.VMX is 0)"
pass
