#!/usr/bin/env bash
# The lock-holder-preemption benchmark guest: four vCPUs on two physical CPUs take one ticket lock
# with interrupts off, so lock holders and waiters get preempted; every vCPU must make progress,
# the critical section's data must come out whole and the VM must end with debug-exit 0. A start
# window too large for the guest's arithmetic is refused with a clear line, not wrapped round.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot 4on2 0 --emulator bochs --cpus 2 "spinlock,vcpus=4,cmdline=duration=20"
expect_line "[spinlock] SPINLOCK config vcpus=4 duration=20000000 warmup=10000000 cs=24 ncs=400 hint=0 skew=500000 seed=1"
for cpu in 1 2 3; do
    expect_line "[spinlock] cpu $cpu up"
done
for vcpu in 0 1 2 3; do
    expect_match "^\[spinlock\] SPINLOCK vcpu=$vcpu acquisitions=[1-9][0-9]*$"
done
expect_match "^\[spinlock\] SPINLOCK vcpus=4 acquisitions=[1-9][0-9]* ticks=[0-9]+ per_mticks=[0-9]+$"
expect_line "[spinlock] SPINLOCK integrity ok"
expect_line "[spinlock] PASS spinlock"
expect_line "matryoshka: vm spinlock ended: debug-exit 0"
expect_line "matryoshka: exit status 0"

boot badskew 1 --emulator bochs --cpus 1 "spinlock,vcpus=1,cmdline=skew=5000000"
expect_line "[spinlock] FAIL spinlock: skew=5000000: at most 4000000 (thousand ticks)"
expect_line "matryoshka: vm spinlock ended: debug-exit 3"
pass
