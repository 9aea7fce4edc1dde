#!/usr/bin/env bash
# CPUID as the guest sees it: hypervisor bit, "KVMKVMKVM" at 0x40000000 with only kvmclock's
# feature bits, "MatryoshkaHV" at 0x40000100, VMX and SMX hidden,
# the APIC ID field matching the local APIC.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot "" 0 --emulator bochs cpuid
expect_line "[cpuid] ok leaf 0x40000100 signature is \"MatryoshkaHV\""
expect_match '^\[cpuid\] ok leaf 0x40000000 signature is "KVMKVMKVM\\0\\0\\0"'
expect_match '^\[cpuid\] ok leaf 0x40000001 shows nothing else'
expect_line "[cpuid] ok leaf 1 ECX[5]: VMX hidden"
expect_line "[cpuid] PASS cpuid"
expect_line "matryoshka: vm cpuid ended: debug-exit 0"
expect_line "matryoshka: exit status 0"
pass
