#!/usr/bin/env bash
# A Prescott Celeron has no VMX at all: the hypervisor refuses with a reason.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot "" 2 --emulator bochs --cpu-model p4_prescott_celeron_336
expect_line "matryoshka: error: this CPU does not support VT-x (CPUID.1:ECX.VMX is 0)"
pass
