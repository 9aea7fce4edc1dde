#!/usr/bin/env bash
# kvmclock (MSR_KVM_SYSTEM_TIME_NEW, MSR_KVM_WALL_CLOCK_NEW) as guests/kvmclock.c checks it: the
# structure's version protocol and fields, a clock that never goes back and runs at the TSC's
# stated rate, an address outside RAM accepted without harm, the wall clock.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot "" 0 --emulator bochs kvmclock
expect_match '^\[kvmclock\] ok version [0-9]*[02468] is even and non-zero$'
expect_match '^\[kvmclock\] ok 1000 readings never went back \(0 did\)$'
expect_match '^\[kvmclock\] ok [0-9]+ ns for [0-9]+ ticks at [0-9]+ Hz \(within 1%\)$'
expect_line "[kvmclock] ok an address outside RAM is accepted"
expect_line "[kvmclock] PASS kvmclock"
expect_line "matryoshka: vm kvmclock ended: debug-exit 0"
expect_line "matryoshka: exit status 0"
pass
