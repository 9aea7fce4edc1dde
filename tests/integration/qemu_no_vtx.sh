#!/usr/bin/env bash
# QEMU TCG has no VT-x: the hypervisor refuses (status 2) and says why.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot "" 2 --emulator qemu
expect_line "matryoshka: error: this CPU does not support VT-x (CPUID.1:ECX.VMX is 0)"
pass
