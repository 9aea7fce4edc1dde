#!/usr/bin/env bash
# Linux with 2 vCPUs: the application processor comes up through INIT-SIPI-SIPI to the vLAPIC and
# Linux's real-mode trampoline, and the workload runs one process per CPU. On 2 physical CPUs,
# then both vCPUs on 1 (the scheduler time-slices them; no soft lockup or RCU stall may follow),
# where Linux's /proc/stat must show the steal time the hypervisor published (MSR_KVM_STEAL_TIME),
# then on 1 under the lock-holder-aware policy. Linux finds KVM's paravirtual spinlocks
# (KVM_FEATURE_PV_UNHALT: its waiters halt with interrupts off until KVM_HC_KICK_CPU) and yield
# (KVM_FEATURE_PV_SCHED_YIELD with steal time: KVM_HC_SCHED_YIELD to a preempted vCPU it sends a
# function-call IPI to) and runs on them.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
need_linux_guest

# expect_linux_smp_ran: two CPUs up on the paravirtual spinlocks and yield, and the workload ran.
expect_linux_smp_ran() {
    expect_match "^\[lx\] \[ *[0-9.]+\] kvm-guest: PV spinlocks enabled$"
    expect_match "^\[lx\] \[ *[0-9.]+\] kvm-guest: setup PV sched yield$"
    expect_match "^\[lx\] \[ *[0-9.]+\] smp: Brought up 1 node, 2 CPUs$"
    expect_linux_ran lx 2
    expect_line "matryoshka: exit status 0"
}

boot 2on2 0 --emulator bochs --cpus 2 --mem 256 "linux,name=lx,mem=128M,vcpus=2"
expect_linux_smp_ran

boot 2on1 0 --emulator bochs --cpus 1 --mem 256 "linux,name=lx,mem=128M,vcpus=2"
expect_linux_smp_ran
steal=$(sed -n 's/^\[lx\] matryoshka-linux: steal \([0-9]*\) ticks in \/proc\/stat$/\1/p' "$LOG")
[[ -n $steal && $steal -gt 0 ]] || fail "no steal time in /proc/stat with 2 vCPUs on 1 CPU ('${steal:-no line}')"

boot 2on1-lha 0 --emulator bochs --cpus 1 --mem 256 --hv-args "sched=lock-holder-aware" "linux,name=lx,mem=128M,vcpus=2"
expect_linux_smp_ran
pass
