#!/usr/bin/env bash
# A malformed guest module line is a clear error naming the module; the other VM still starts
# and passes, and the run's status is a failure because a guest asked for never ran.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot "" 1 --emulator bochs "hello,name=good" "hello,name=bad,vcpus=999"
expect_line "matryoshka: error: module 2: bad value '999' for vcpus= (expected a vCPU count from 1 to 64)"
expect_line "[good] PASS hello"
expect_line "matryoshka: vm good ended: debug-exit 0"
if grep -q "^matryoshka: vm bad " "$LOG"; then fail "the guest with the bad line ran"; fi
expect_line "matryoshka: exit status 1"
pass
