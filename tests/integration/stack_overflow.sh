#!/usr/bin/env bash
# An application processor overflows its kernel stack on purpose (selftest=stack-overflow): the
# guard page below the stack turns that into a #PF whose delivery faults again, a #DF on its own
# IST stack, which names the overflow; then the whole machine stops: the boot CPU confirms it
# stopped (NMI) and the run ends with the failure status, the boot going no further.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot "" 1 --emulator bochs --cpus 2 --hv-args "selftest=stack-overflow"
expect_match "^matryoshka: panic: stack overflow on CPU 1: CR2 0x[0-9a-f]+ is in the guard page below a stack$"
expect_match "^matryoshka: panic: CPU 1 \(APIC ID [0-9]+\): exception #DF double fault \(8\), error code 0x0$"
expect_match "^  RIP ffffffff8[0-9a-f]{7}  RSP [0-9a-f]{16}  RFLAGS [0-9a-f]{16}  CS 0x8  SS 0x10$"
expect_line "matryoshka: CPU 1 stopped"
expect_line "matryoshka: CPU 0 stopped"
expect_line "matryoshka: exit status 1"
if grep -q "CPUs in VMX root" "$LOG"; then fail "boot went on after the panic"; fi
pass
