#!/usr/bin/env bash
# One guest: the boot protocol (Multiboot v1 magic and information, memory map vs fw_cfg and CMOS),
# its command line with a blank in it (GRUB hands it over as "cmdline=name=vm1 expect_mem=32M").
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot "" 0 --emulator bochs "hello,name=vm1,mem=32M,cmdline=name=vm1 expect_mem=32M"
expect_line "[vm1] hello from vm1"
expect_line "[vm1]   command line \"name=vm1 expect_mem=32M\""
expect_line "[vm1] ok RAM ends at 32 MiB as configured (expect_mem=32 MiB)"
expect_line "[vm1] PASS hello"
expect_line "matryoshka: vm vm1 ended: debug-exit 0"
expect_line "matryoshka: exit status 0"
pass
