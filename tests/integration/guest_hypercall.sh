#!/usr/bin/env bash
# The VMCALL ABI: console write (two lines through the hypervisor console), bad pointer, overlong
# and unknown calls get their errors (KVM's), and the exit hypercall ends the VM with its value.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot "" 0 --emulator bochs hypercall
expect_line "[hypercall] hypercall console says hello"
expect_line "[hypercall] and a second line"
expect_line "[hypercall] no terminal control: ?[2J? done"
expect_line "[hypercall] ok console write from outside RAM returns -22"
expect_line "[hypercall] ok an unknown function returns -1000"
expect_line "[hypercall] ok KVM's number 0 is unknown: -1000"
expect_line "matryoshka: vm hypercall ended: exit hypercall 0"
expect_line "matryoshka: exit status 0"
pass
