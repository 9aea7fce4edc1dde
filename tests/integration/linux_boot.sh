#!/usr/bin/env bash
# An unmodified Linux 6.1 bzImage (make linux-guest) boots as a kind=linux guest with 1 vCPU and
# only console=ttyS0 on its command line: the 64-bit boot protocol, the e820 map, ACPI (MADT,
# FADT, the DSDT's \_S5), the IOAPIC, PIT and UART interrupts take it to its initramfs, whose
# /init prints the marker, runs its pipe workload and powers the VM off through ACPI S5. Linux
# finds the KVM-compatible CPUID window and uses kvmclock (vmx/kvm_pv.hpp).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
need_linux_guest

boot "" 0 --emulator bochs --mem 256 "linux,name=lx,mem=128M,vcpus=1"
expect_match "^matryoshka: vm lx: Linux boot protocol 2\.15, 64-bit entry, kernel at 0x1000000, initrd [0-9]+ (B|KiB|MiB) at 0x[0-9a-f]+$"
expect_linux_ran lx 1
expect_match "^\[lx\] \[ *[0-9.]+\] Booting paravirtualized kernel on KVM$"
expect_match "^\[lx\] \[ *[0-9.]+\] kvm-clock: Using msrs 4b564d01 and 4b564d00$"
expect_match "^\[lx\] \[ *[0-9.]+\] clocksource: Switched to clocksource kvm-clock$"
expect_line "matryoshka: exit status 0"
pass
