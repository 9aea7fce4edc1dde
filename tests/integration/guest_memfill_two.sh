#!/usr/bin/env bash
# Two VMs at once on one CPU, each filling all its RAM with its own pattern and checking it after
# yielding: neither sees the other's memory.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot "" 0 --emulator bochs --cpus 1 "memfill,name=mf1,cmdline=pattern=0x5a" "memfill,name=mf2,cmdline=pattern=0xa5"
for vm in mf1 mf2; do
    expect_match "^\[$vm\] ok round 3: [0-9]+ KiB intact after yielding \(0 wrong words\)$"
    expect_line "[$vm] PASS memfill"
    expect_line "matryoshka: vm $vm ended: debug-exit 0"
done
expect_line "matryoshka: exit status 0"
pass
