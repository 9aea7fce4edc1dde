#!/usr/bin/env bash
# Booted by GRUB under OVMF (UEFI): memory map and RSDP from the EFI boot information, SMP
# bring-up of 4 CPUs, then the VT-x check refuses (QEMU TCG has no VMX).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot "" 2 --emulator qemu --firmware uefi --cpus 4
expect_match "^matryoshka: Matryoshka hypervisor, loaded by GRUB .* \(UEFI\)$"
expect_match "^matryoshka: ACPI: revision 2 .*XSDT, MADT yes: 4 CPUs \(4 enabled\)"
expect_line "matryoshka: 4 of 4 CPUs started"
expect_line "matryoshka: error: this CPU does not support VT-x (CPUID.1:ECX.VMX is 0)"
pass
