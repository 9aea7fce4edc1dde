#!/usr/bin/env bash
# SMAP is on and effective (selftest=smap, boot/main.cpp): on a Bochs model with SMAP
# (broadwell_ult) the hypervisor reads a user-accessible page between STAC and CLAC, then without
# STAC, which must fault: the exception handler names the SMAP violation and the machine stops.
# On a model without SMAP (corei7_haswell_4770) the same read goes through and the selftest says
# so: the fault comes from SMAP, not from the mapping.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot smap 1 --emulator bochs --cpu-model broadwell_ult --hv-args "selftest=smap"
expect_match "^matryoshka: memory: .*, SMEP yes, SMAP yes$"
expect_line "matryoshka: selftest smap: read user-accessible page 0x400000000000 between STAC and CLAC: 0x5a4d41505a4d4150"
expect_line "matryoshka: panic: SMAP violation on CPU 0: the hypervisor accessed user-accessible page 0x400000000000 without STAC"
expect_line "matryoshka: panic: CPU 0 (APIC ID 0): exception #PF page fault (14), error code 0x1"
expect_line "matryoshka: exit status 1"
if grep -q "no fault" "$LOG"; then fail "the read without STAC went through"; fi

boot no-smap 1 --emulator bochs --cpu-model corei7_haswell_4770 --hv-args "selftest=smap"
expect_match "^matryoshka: memory: .*, SMEP yes, SMAP no$"
expect_line "matryoshka: error: selftest smap: read user-accessible page 0x400000000000 without STAC: 0x5a4d41505a4d4150, no fault (SMAP off)"
expect_line "matryoshka: exit status 1"
if grep -q "panic" "$LOG"; then fail "a panic without SMAP"; fi
pass
