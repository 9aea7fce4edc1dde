#!/usr/bin/env bash
# SMP bring-up of four CPUs under QEMU, before the VT-x refusal.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot "" 2 --emulator qemu --cpus 4
expect_line "matryoshka: 4 of 4 CPUs started"
expect_match "^matryoshka: error: .*VT-x"
pass
