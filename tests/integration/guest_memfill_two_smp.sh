#!/usr/bin/env bash
# Two memfill VMs on two CPUs: isolation while both run truly in parallel.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot "" 0 --emulator bochs --cpus 2 "memfill,name=mf1,cmdline=pattern=0x5a" "memfill,name=mf2,cmdline=pattern=0xa5"
for vm in mf1 mf2; do
    expect_line "[$vm] PASS memfill"
    expect_line "matryoshka: vm $vm ended: debug-exit 0"
done
expect_line "matryoshka: exit status 0"
pass
