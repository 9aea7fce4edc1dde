#!/usr/bin/env bash
# Scheduling configurations the hypervisor cannot run end with a clear error, never a hang: a
# gang wider than the machine, and a pin= that names no CPU that exists.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot gang 1 --emulator bochs --cpus 1 --hv-args "sched=gang" "hello,vcpus=2"
expect_match "^matryoshka: error: scheduler gang: .*hello"
expect_line "matryoshka: exit status 1"
boot pin 1 --emulator bochs --cpus 1 "hello,pin=3"
expect_line "matryoshka: error: scheduler round-robin: vm hello: its pinning names no CPU that exists"
expect_line "matryoshka: exit status 1"
pass
