#!/usr/bin/env bash
# Two Linux VMs at once beside a Multiboot guest, in one Bochs run on 2 CPUs: lxa with 1 vCPU,
# lxb with 2, and the canary (guests/canary.c: checksummed memory and registers, interrupts on,
# so any state or interrupt leaking in from the Linux VMs is a FAIL). Each Linux reaches its
# marker and PASS line and powers off on its own; the canary passes. The VMs' consoles stay
# apart: each Linux's lines carry its own name and its own CPU count (1 and 2), and no line holds
# two VMs' output.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
need_linux_guest

boot "" 0 --emulator bochs --cpus 2 --mem 400 "linux,name=lxa,mem=128M,vcpus=1" \
    "linux,name=lxb,mem=128M,vcpus=2" "canary,cmdline=rounds=64"
expect_linux_ran lxa 1
expect_linux_ran lxb 2
expect_match "^\[lxb\] \[ *[0-9.]+\] smp: Brought up 1 node, 2 CPUs$"
expect_line "[canary] canary: 64 rounds intact"
expect_line "[canary] PASS canary"
expect_line "matryoshka: vm canary ended: debug-exit 0"
for vm in lxa lxb; do
    [[ $(grep -c "^\[$vm\] \[ *[0-9.]*\] Linux version " "$LOG") == 1 ]] || fail "$vm did not boot exactly once"
done
# Each line comes from one VM: lxa never says it has 2 CPUs, and no line holds another VM's
# prefix or a VM's marker after other text.
mixed='^\[lxa\] .*smp: Brought up 1 node, 2 CPUs|^\[(lx[ab]|canary)\] .*\[(lx[ab]|canary)\] |^.+[^ ]matryoshka-linux:|^.+[^ ]canary round'
if grep -qE "$mixed" "$LOG"; then fail "the VMs' console lines are mixed: $(grep -m1 -E "$mixed" "$LOG")"; fi
expect_line "matryoshka: exit status 0"
pass
