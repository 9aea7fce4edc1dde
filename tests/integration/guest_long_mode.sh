#!/usr/bin/env bash
# The guest's own switch to 64-bit mode and back: 4-level paging, EFER.LME/LMA, an alias above
# 4 GiB, CR8 and the TPR.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot "" 0 --emulator bochs long_mode
expect_line "[long_mode] long_mode: hello from 64-bit mode"
expect_line "[long_mode] PASS long_mode"
expect_line "matryoshka: vm long_mode ended: debug-exit 0"
expect_line "matryoshka: exit status 0"
pass
