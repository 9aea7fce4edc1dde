#!/usr/bin/env bash
# The boot CPU faults on purpose: register dump, then (in a test run) the failure status at once
# instead of a hang until the runner's timeout.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot "" 1 --emulator bochs --cpus 1 --hv-args "selftest=fault-boot-cpu"
expect_match "^matryoshka: panic: CPU 0 \(APIC ID [0-9]+\): exception #UD invalid opcode \(6\), error code 0x0$"
expect_match "^  RAX [0-9a-f]{16}  RBX [0-9a-f]{16}  RCX [0-9a-f]{16}  RDX [0-9a-f]{16}$"
expect_line "matryoshka: CPU 0 stopped"
expect_line "matryoshka: exit status 1"
if grep -q "CPUs in VMX root" "$LOG"; then fail "boot went on after the boot CPU stopped"; fi
pass
