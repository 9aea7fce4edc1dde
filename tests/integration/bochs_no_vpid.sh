#!/usr/bin/env bash
# VMs without VPIDs (vpid=off, as on a CPU that has none; no Bochs model has EPT and unrestricted
# guest without VPID): the VMCS's VPID control stays clear, no INVVPID is issued, and VM entries
# and exits flush the guest's TLB entries. Two memory-filling VMs and a 64-bit paged guest share
# one CPU (every switch between them relies on that flush), and a 4-vCPU guest migrates between
# two CPUs; all pass.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
NO_VPID="matryoshka: VMX: VPIDs not used (vpid=off): every VM entry and exit flushes the guest's TLB entries"
boot shared 0 --emulator bochs --cpus 1 --hv-args "vpid=off" "memfill,name=mf1,cmdline=pattern=0x5a" \
    "memfill,name=mf2,cmdline=pattern=0xa5" long_mode
expect_line "matryoshka: VMX: VPID yes, unrestricted guest yes, pause-loop exiting yes"
expect_line "$NO_VPID"
for vm in mf1 mf2; do
    expect_match "^\[$vm\] ok round 3: [0-9]+ KiB intact after yielding \(0 wrong words\)$"
    expect_line "matryoshka: vm $vm ended: debug-exit 0"
done
expect_line "[long_mode] PASS long_mode"
expect_line "matryoshka: vm long_mode ended: debug-exit 0"
expect_line "matryoshka: exit status 0"
boot smp 0 --emulator bochs --cpus 2 --hv-args "vpid=off" "smp_boot,vcpus=4"
expect_line "$NO_VPID"
expect_line "[smp_boot] all 4 CPUs up"
expect_line "[smp_boot] PASS smp_boot"
expect_line "matryoshka: exit status 0"
boot default 0 --emulator bochs hello
if grep -qF "VPIDs not used" "$LOG"; then fail "VPIDs unused although the CPU has them and vpid=off was not given"; fi
expect_line "matryoshka: exit status 0"
pass
