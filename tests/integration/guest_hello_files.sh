#!/usr/bin/env bash
# A guest with two files (module=): the boot information lists both as page-aligned modules.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot "" 0 --emulator bochs "hello,module=$ROOT/guests/hello.c,module=$ROOT/guests/guests.mk,cmdline=expect_modules=2"
expect_line "[hello] ok 2 module(s) as expected (expect_modules=2)"
expect_line "[hello] PASS hello"
expect_line "matryoshka: vm hello ended: debug-exit 0"
expect_line "matryoshka: exit status 0"
pass
