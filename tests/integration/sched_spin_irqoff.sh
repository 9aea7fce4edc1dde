#!/usr/bin/env bash
# A vCPU that spins with interrupts off never exits by itself; the scheduler's preemption must
# still give the other VM its turns: hello completes while spin_irqoff is still spinning, on one
# CPU, and the scheduler's metrics count its preemptions at CPL 0 with interrupts off; the trace
# (sched_trace=end) shows hello running.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot "" 0 --emulator bochs --cpus 1 --hv-args "sched_trace=end" "spin_irqoff,name=spin,cmdline=ticks=60" hello
expect_line "[spin] spin_irqoff: spinning with interrupts off"
expect_line "[hello] PASS hello"
hello_line=$(grep -nxF "[hello] PASS hello" "$LOG" | cut -d: -f1)
spun_line=$(grep -n "^\[spin\] spin_irqoff: spun" "$LOG" | cut -d: -f1)
[[ -n $spun_line && $hello_line -lt $spun_line ]] || fail "hello did not finish while spin_irqoff was spinning"
expect_match "^matryoshka: sched-trace-begin policy=round-robin pcpus=1 "
expect_match "^matryoshka: sched-trace 0 [0-9]+ run 1 0 "
expect_match "^matryoshka: sched-metrics vm=spin vcpu=0 .* preempted_cpl0_if0=[1-9]"
expect_line "matryoshka: vm spin ended: debug-exit 0"
expect_line "matryoshka: vm hello ended: debug-exit 0"
expect_line "matryoshka: exit status 0"
pass
