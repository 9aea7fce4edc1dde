#!/usr/bin/env bash
# MSRs: PAT, EFER.SCE, TSC, APIC base, SYSENTER, KERNEL_GS_BASE round trips; #GP on unknown MSRs, on
# IA32_VMX_BASIC and on writing IA32_FEATURE_CONTROL.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot "" 0 --emulator bochs msr
expect_line "[msr] ok rdmsr of IA32_VMX_BASIC (0x480) with VMX hidden raises #GP (got #GP)"
expect_line "[msr] PASS msr"
expect_line "matryoshka: vm msr ended: debug-exit 0"
expect_line "matryoshka: exit status 0"
pass
