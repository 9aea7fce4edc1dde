#!/usr/bin/env bash
# The LAPIC-timer fallback for CPUs without the VMX-preemption timer, forced with preemption=
# (Bochs's CPU has the VMX timer): slices still end, by the host LAPIC timer in TSC-deadline and in
# one-shot mode. A vCPU that spins without ever exiting is preempted (its host timer interrupt is
# an external-interrupt exit) and hello finishes while it spins; and more vCPUs than CPUs, spinning
# on ticket locks, all run and finish with their locks intact. The spinner runs with interrupts
# on: Bochs 2.7 leaves a guest that was entered with IF=0 deaf to host interrupts (see
# vmx/slice_timer.hpp), which the SDM's external-interrupt exiting does not.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
for mode in lapic:TSC-deadline lapic-oneshot:one-shot; do
    option=${mode%%:*} timer=${mode#*:}
    boot "$option-spin" 0 --emulator bochs --cpus 1 --hv-args "preemption=$option" \
        "spin_irqoff,name=spin,cmdline=ticks=60 irq=1" hello
    expect_line "matryoshka: slice timer: LAPIC timer ($timer)"
    expect_line "[spin] spin_irqoff: spinning with interrupts on"
    expect_line "[hello] PASS hello"
    hello_line=$(grep -nxF "[hello] PASS hello" "$LOG" | cut -d: -f1)
    spun_line=$(grep -n "^\[spin\] spin_irqoff: spun" "$LOG" | cut -d: -f1)
    [[ -n $spun_line && $hello_line -lt $spun_line ]] || fail "$option: hello did not finish while spin_irqoff spun"
    expect_match "^matryoshka: sched-metrics vm=spin vcpu=0 .* preemptions=[1-9]"
    expect_line "matryoshka: vm spin ended: debug-exit 0"
    expect_line "matryoshka: vm hello ended: debug-exit 0"
done
boot overcommit 0 --emulator bochs --cpus 2 --hv-args "preemption=lapic" \
    "spinlock,name=lock1,vcpus=2,cmdline=duration=8" "spinlock,name=lock2,vcpus=2,cmdline=duration=8"
expect_line "matryoshka: slice timer: LAPIC timer (TSC-deadline)"
for vm in lock1 lock2; do
    expect_line "[$vm] SPINLOCK integrity ok"
    expect_line "matryoshka: vm $vm ended: debug-exit 0"
    for vcpu in 0 1; do expect_match "^matryoshka: sched-metrics vm=$vm vcpu=$vcpu run_us=[1-9].* preemptions=[1-9]"; done
done
expect_line "matryoshka: exit status 0"
pass
