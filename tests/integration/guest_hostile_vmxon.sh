#!/usr/bin/env bash
# VMX instructions in a guest (VMX hidden) raise #UD, which the guest's own IDT takes; the VM
# ends normally and so does a second VM.
# Pending: enable once the hypervisor runs guests.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot "" 0 --emulator bochs hostile_vmxon hello
expect_line "[hostile_vmxon] ok VMXON: got #UD"
expect_line "[hostile_vmxon] PASS hostile_vmxon"
expect_line "matryoshka: vm hostile_vmxon ended: debug-exit 0"
expect_line "[hello] PASS hello"
expect_line "matryoshka: vm hello ended: debug-exit 0"
expect_line "matryoshka: exit status 0"
pass
