#!/usr/bin/env bash
# A vCPU that spins with interrupts off never exits by itself; under every policy the
# scheduler's preemption must still give the other VM its turns on one CPU: hello completes while
# spin_irqoff is still spinning, and the metrics count spin_irqoff's preemptions at CPL 0 with
# interrupts off. Lock-holder-aware defers those preemptions, but only by its bounded extension.
# The trace (sched_trace=end) shows hello running.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
for policy in "${POLICIES[@]}"; do
    boot "$policy" 0 --emulator bochs --cpus 1 --hv-args "sched=$policy sched_trace=end" \
        "spin_irqoff,name=spin,cmdline=ticks=60" hello
    expect_line "matryoshka: slice timer: VMX-preemption timer"
    expect_line "matryoshka: scheduler: $policy on 1 CPU, slice 10000 us"
    expect_line "[hello] PASS hello"
    hello_line=$(grep -nxF "[hello] PASS hello" "$LOG" | cut -d: -f1)
    spun_line=$(grep -n "^\[spin\] spin_irqoff: spun" "$LOG" | cut -d: -f1)
    [[ -n $spun_line && $hello_line -lt $spun_line ]] || fail "$policy: hello did not finish while spin_irqoff spun"
    expect_match "^matryoshka: sched-trace-begin policy=$policy pcpus=1 "
    expect_match "^matryoshka: sched-trace 0 [0-9]+ run 1 0 "
    expect_match "^matryoshka: sched-metrics vm=spin vcpu=0 .* preempted_cpl0_if0=[1-9]"
    if [[ $policy == lock-holder-aware ]]; then
        expect_match "^matryoshka: sched-metrics vm=spin vcpu=0 .* deferrals=[1-9]"
    fi
    expect_line "matryoshka: vm spin ended: debug-exit 0"
    expect_line "matryoshka: vm hello ended: debug-exit 0"
done
pass
