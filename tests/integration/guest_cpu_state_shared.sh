#!/usr/bin/env bash
# Two VMs on one physical CPU each load XMM0-7, the x87 control word, MXCSR, CR2 and DR0-3 with
# their own values, get preempted many times, and find them unchanged: the state VMX does not
# switch is saved and restored between vCPUs, so no VM sees another's registers.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot "" 0 --emulator bochs --cpus 1 "cpu_state,name=cs1,cmdline=pattern=0x11" "cpu_state,name=cs2,cmdline=pattern=0x22"
for vm in cs1 cs2; do
    expect_match "^\[$vm\]   preempted [0-9]+ times"
    expect_line "[$vm] ok XMM0-XMM7 kept their values (0 words differ; xmm0[0] 0x$([[ $vm == cs1 ]] && echo 11111111 || echo 22222222), expected 0x$([[ $vm == cs1 ]] && echo 11111111 || echo 22222222))"
    expect_line "[$vm] PASS cpu_state"
    expect_line "matryoshka: vm $vm ended: debug-exit 0"
done
expect_line "matryoshka: exit status 0"
pass
