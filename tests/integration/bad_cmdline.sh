#!/usr/bin/env bash
# A bad value is fatal (status 3) and named; an unknown key is only a warning listing the valid keys.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot bogus 3 --emulator qemu --hv-args "serial=bogus"
expect_match "^matryoshka: error: .*(serial.*bogus|bogus.*serial)"

boot unknown 2 --emulator qemu --hv-args "frobnicate=1"
expect_match "^matryoshka: warning: .*frobnicate.*serial.*exit"
expect_match "^matryoshka: [0-9]+ of [0-9]+ CPUs started"
expect_line "matryoshka: error: this CPU does not support VT-x (CPUID.1:ECX.VMX is 0)"
pass
