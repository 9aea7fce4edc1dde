#!/usr/bin/env bash
# The Linux boot protocol's 32-bit entry (entry=32): the loader enters the same 64-bit bzImage at
# code32_start in protected mode with paging off, ESI = the zero page, and the kernel's own
# startup_32 builds its page tables and enters long mode; it boots to the marker and powers off.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
need_linux_guest

boot "" 0 --emulator bochs --mem 256 "linux,name=lx,mem=128M,vcpus=1,entry=32"
expect_match "^matryoshka: vm lx: Linux boot protocol 2\.15, 32-bit entry, kernel at 0x1000000, initrd [0-9]+ (B|KiB|MiB) at 0x[0-9a-f]+$"
expect_linux_ran lx 1
expect_line "matryoshka: exit status 0"
pass
