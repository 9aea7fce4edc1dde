#!/usr/bin/env bash
# KVM's paravirtual spinlock hypercalls (guests/pv_unhalt.c): an AP halted with interrupts off
# runs again when its BSP kicks it (KVM_HC_KICK_CPU), through the scheduler, and only then; the
# BSP yields to it (KVM_HC_SCHED_YIELD) while it waits. Kicks and yields naming APIC IDs that are
# no vCPU of the VM (another VM's, broadcast) return 0 and wake nobody. Two vCPUs on one CPU
# (round-robin, then lock-holder-aware), then two VMs of 2 and 4 vCPUs on two CPUs, where the
# first one's kicks of IDs 2-5 name the second one's vCPUs 2 and 3 (which must not wake).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

# expect_pv_unhalt_passed VM APS: every AP of VM woke once per kick and the VM passed.
expect_pv_unhalt_passed() {
    local vm=$1 aps=$2 cpu
    expect_match "^\[$vm\] ok CPUID 0x40000001 EAX shows KVM_FEATURE_PV_UNHALT \(0x[0-9a-f]+\)$"
    for ((cpu = 1; cpu <= aps; cpu++)); do
        expect_line "[$vm] ok cpu $cpu: HLT with IF=0 ended once per kick (21 of 21), never without a new round (0 times)"
    done
    expect_line "[$vm] ok every kick and yield returned 0, also naming no vCPU (0 did not)"
    expect_line "[$vm] PASS pv_unhalt"
    expect_line "matryoshka: vm $vm ended: debug-exit 0"
    # Only the kicks that named a vCPU count: 21 per AP.
    expect_match "^matryoshka: vm $vm paravirtual: kick_cpu $((21 * aps)), sched_yield [0-9]+ \([0-9]+ gave the CPU away\)$"
}

boot 2on1 0 --emulator bochs --cpus 1 "pv_unhalt,vcpus=2"
expect_pv_unhalt_passed pv_unhalt 1
expect_line "matryoshka: exit status 0"

boot 2on1-lha 0 --emulator bochs --cpus 1 --hv-args "sched=lock-holder-aware" "pv_unhalt,vcpus=2"
expect_pv_unhalt_passed pv_unhalt 1
expect_line "matryoshka: exit status 0"

boot two-vms 0 --emulator bochs --cpus 2 "pv_unhalt,name=a,vcpus=2" "pv_unhalt,name=b,vcpus=4"
expect_pv_unhalt_passed a 1
expect_pv_unhalt_passed b 3
expect_line "matryoshka: exit status 0"
pass
