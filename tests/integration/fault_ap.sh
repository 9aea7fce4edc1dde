#!/usr/bin/env bash
# An application processor faults on purpose: it prints a full register dump, then the whole
# machine stops (a fault in the hypervisor is its bug: no CPU goes on in an unknown state): the
# boot CPU confirms it stopped and the run ends with the failure status, the boot going no further.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot "" 1 --emulator bochs --cpus 2 --hv-args "selftest=fault-ap"
expect_match "^matryoshka: panic: CPU 1 \(APIC ID [0-9]+\): exception #UD invalid opcode \(6\), error code 0x0$"
expect_match "^  RIP ffffffff8[0-9a-f]{7}  RSP [0-9a-f]{16}  RFLAGS [0-9a-f]{16}  CS 0x8  SS 0x10$"
expect_match "^  CR0 [0-9a-f]{16}  CR2 [0-9a-f]{16}  CR3 [0-9a-f]{16}  CR4 [0-9a-f]{16}$"
expect_match "^  backtrace: ffffffff8[0-9a-f]{7} ffffffff8[0-9a-f]{7}"
expect_line "matryoshka: CPU 1 stopped"
expect_line "matryoshka: CPU 0 stopped"
expect_line "matryoshka: exit status 1"
if grep -q "CPUs in VMX root" "$LOG"; then fail "boot went on after the panic"; fi
pass
