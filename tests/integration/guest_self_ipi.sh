#!/usr/bin/env bash
# Self-IPIs through the virtual local APIC: xAPIC ICR (shorthand and own ID) and x2APIC (SELF IPI
# MSR and ICR MSR), each delivered once as the vector sent.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot "" 0 --emulator bochs self_ipi
expect_line "[self_ipi] ok xAPIC ICR, shorthand self: vector 0x50 arrived (count 1)"
expect_line "[self_ipi] ok x2APIC SELF IPI MSR: vector 0x50 arrived (count 3)"
expect_line "[self_ipi] PASS self_ipi"
expect_line "matryoshka: vm self_ipi ended: debug-exit 0"
pass
