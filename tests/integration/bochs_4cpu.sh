#!/usr/bin/env bash
# Four CPUs in Bochs: SMP bring-up, then every CPU enters VMX root.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot "" 0 --emulator bochs --cpus 4
expect_line "matryoshka: 4 of 4 CPUs started"
expect_line "matryoshka: 4 of 4 CPUs in VMX root"
pass
