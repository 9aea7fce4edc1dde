#!/usr/bin/env bash
# More vCPUs than CPUs under every policy: two VMs of two vCPUs each on two CPUs take one ticket
# spinlock per VM (the spinlock guest, its APs started through INIT-SIPI-SIPI and running on
# whichever CPU the scheduler gives them). Each VM must finish with its lock's integrity intact,
# and every vCPU must have run.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
for policy in "${POLICIES[@]}"; do
    boot "$policy" 0 --emulator bochs --cpus 2 --hv-args "sched=$policy" \
        "spinlock,name=lock1,vcpus=2,cmdline=duration=8" "spinlock,name=lock2,vcpus=2,cmdline=duration=8"
    expect_line "matryoshka: scheduler: $policy on 2 CPUs, slice 10000 us"
    for vm in lock1 lock2; do
        expect_line "[$vm] SPINLOCK integrity ok"
        expect_match "^\[$vm\] SPINLOCK vcpu=1 acquisitions=[1-9]"
        expect_line "matryoshka: vm $vm ended: debug-exit 0"
        for vcpu in 0 1; do expect_match "^matryoshka: sched-metrics vm=$vm vcpu=$vcpu run_us=[1-9]"; done
    done
    expect_line "matryoshka: exit status 0"
done
pass
