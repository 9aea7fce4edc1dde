#!/usr/bin/env bash
# The virtual local APIC timer: one-shot (PAUSE, then HLT), periodic, TSC-deadline, x2APIC;
# HLT sleeps until the timer interrupt.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot "" 0 --emulator bochs lapic_timer_hlt
expect_line "[lapic_timer_hlt] ok one-shot: sti; hlt woke up with the timer interrupt (ticks 1)"
expect_line "[lapic_timer_hlt] PASS lapic_timer_hlt"
expect_line "matryoshka: vm lapic_timer_hlt ended: debug-exit 0"
expect_line "matryoshka: exit status 0"
pass
