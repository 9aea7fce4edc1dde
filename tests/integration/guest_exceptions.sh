#!/usr/bin/env bash
# The guest's own IDT: #DE #DB #BP #OF #BR #UD #NM #GP #NP and #PF under its own paging, each
# with the right vector, error code and EIP, each recovered.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot "" 0 --emulator bochs exceptions
expect_line "[exceptions] ok paging off again"
expect_line "[exceptions] PASS exceptions"
expect_line "matryoshka: vm exceptions ended: debug-exit 0"
expect_line "matryoshka: exit status 0"
pass
