#!/usr/bin/env bash
# One CPU in Bochs (Haswell, VMX with EPT) reaches VMX root.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot "" 0 --emulator bochs --cpus 1
expect_line "matryoshka: 1 of 1 CPUs in VMX root"
pass
