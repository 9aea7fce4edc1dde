#!/usr/bin/env bash
# A Penryn has VMX but no EPT: the hypervisor refuses with a reason.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot "" 2 --emulator bochs --cpu-model core2_penryn_t9600
expect_match "^matryoshka: error: .*EPT"
pass
