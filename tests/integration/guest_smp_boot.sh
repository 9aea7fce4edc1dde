#!/usr/bin/env bash
# A guest starts its application processors as an OS does (INIT-SIPI-SIPI through the xAPIC ICR,
# a real-mode trampoline below 1 MiB, 32-bit protected mode, a stack per AP), then the BSP and
# each AP exchange fixed IPIs (0x60 to the AP, 0x61 back): INIT/SIPI delivery to vCPUs and IPI
# routing between them. Four vCPUs on two physical CPUs, then two vCPUs on four.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

boot 4on2 0 --emulator bochs --cpus 2 "smp_boot,vcpus=4"
expect_match "^\[smp_boot\]   4 CPUs \(fw_cfg NB_CPUS\), BSP APIC ID 0,"
for cpu in 1 2 3; do
    expect_line "[smp_boot] cpu $cpu up"
    expect_line "[smp_boot] ok cpu $cpu: started once (1), exactly one IPI 0x60 (1)"
done
expect_line "[smp_boot] all 4 CPUs up"
expect_line "[smp_boot] ok BSP got 3 replies 0x61 (of 3), other CPUs 0"
expect_line "[smp_boot] PASS smp_boot"
expect_line "matryoshka: vm smp_boot ended: debug-exit 0"
expect_line "matryoshka: exit status 0"

boot 2on4 0 --emulator bochs --cpus 4 "smp_boot,vcpus=2"
expect_line "[smp_boot] cpu 1 up"
expect_line "[smp_boot] all 2 CPUs up"
expect_line "[smp_boot] ok BSP got 1 replies 0x61 (of 1), other CPUs 0"
expect_line "[smp_boot] PASS smp_boot"
expect_line "matryoshka: vm smp_boot ended: debug-exit 0"
expect_line "matryoshka: exit status 0"
pass
