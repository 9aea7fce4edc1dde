#!/usr/bin/env bash
# A flat binary started in real mode at the reset vector (F000:FFF0): UART output and debug-exit.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot "" 0 --emulator bochs realmode
expect_line "[realmode] realmode: running in real mode at F000"
expect_line "[realmode] PASS realmode"
expect_line "matryoshka: vm realmode ended: debug-exit 0"
expect_line "matryoshka: exit status 0"
pass
