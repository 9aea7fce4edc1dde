#!/usr/bin/env bash
# A guest that triple-faults (empty IDT, int3) is ended with a report; a memfill VM next to it
# finishes with all its memory intact.
# Pending: enable once the hypervisor runs guests.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

# ended_badly VM: the hypervisor ended VM with a report (a reason other than debug-exit).
ended_badly() {
    expect_match "^matryoshka: vm $1 ended: "
    ! grep -q "^matryoshka: vm $1 ended: debug-exit" "$LOG" || fail "vm $1 ended through debug-exit"
}

boot "" 1 --emulator bochs hostile_triple_fault "memfill,cmdline=pattern=0x96"
expect_line "[hostile_triple_fault] hostile_triple_fault: loading an empty IDT and executing int3: the VM should end with a triple fault"
ended_badly hostile_triple_fault
! grep -q "^\[hostile_triple_fault\] FAIL" "$LOG" || fail "the guest ran on after the triple fault"
expect_line "[memfill] PASS memfill"
expect_line "matryoshka: vm memfill ended: debug-exit 0"
expect_match "^matryoshka: exit status [1-9]"
pass
