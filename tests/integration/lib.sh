# shellcheck shell=bash
# Shared helpers for the integration tests: source it, call boot, then the expect_* checks, then pass.
# Each test prints one line: "PASS name" or "FAIL name: why (log: path)", and exits 0 only on PASS.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TEST=$(basename "$0" .sh)
LOG=$ROOT/build/logs/test-$TEST.log
TIMEOUT=${TEST_TIMEOUT:-180}

# Every scheduling policy the hypervisor runs (sched/policies.cpp; options_test checks sched='s
# help names them all).
POLICIES=(round-robin credit lock-holder-aware gang relaxed-co balance)

fail() {
    echo "FAIL $TEST: $* (log: $LOG)"
    exit 1
}

pass() {
    echo "PASS $TEST"
}

# boot LABEL STATUS RUN-VM-ARGS...: boots under its own name (test-TEST[-LABEL]) and expects
# tools/run-vm to exit with STATUS. The console log is $LOG afterwards.
boot() {
    local label=$1 want=$2 status=0
    shift 2
    local name=test-$TEST${label:+-$label}
    LOG=$ROOT/build/logs/$name.log
    "$ROOT/tools/run-vm" --quiet --timeout "$TIMEOUT" --name "$name" --log "$LOG" "$@" >/dev/null 2>&1 ||
        status=$?
    [[ $status == "$want" ]] || fail "run-vm exited with $status, expected $want"
}

# expect_line TEXT: the log has a line that is exactly TEXT.
expect_line() {
    grep -qxF -- "$1" "$LOG" || fail "no line '$1'"
}

# expect_match REGEX: the log has a line matching the extended regular expression.
expect_match() {
    grep -qE -- "$1" "$LOG" || fail "no line matching /$1/"
}

# hostile_catalogue_part K N CPUS: part K of N of the hostile-guest catalogue's runs on CPUS Bochs
# CPUs (every N-th run in name order from the K-th, so a new scenario joins a part by itself)
# beside the canary VM, through tools/test-hostile --check: each scenario is contained as it
# declares, the hypervisor never panics, the canary's work is complete and correct. Its table
# (with the canary's CPU share, a figure that is not checked: tests never depend on timing) is
# in $LOG.
hostile_catalogue_part() {
    LOG=$ROOT/build/logs/test-$TEST.log
    "$ROOT/tools/test-hostile" --check --jobs 1 --cpus "$3" --shard "$1/$2" --timeout "$TIMEOUT" >"$LOG" 2>&1 ||
        fail "$(grep -E '^test-hostile: ' "$LOG" | grep -v ': ok, ' | head -n 3 | tr '\n' ' ')"
}

# need_linux_guest: the Linux guest tests (tests/integration/linux_*.sh) boot the kernel and
# initramfs of `make linux-guest` (guests/linux/README.md), which `make test` builds first. Linux
# in Bochs takes minutes of wall time; nothing checked depends on it.
need_linux_guest() {
    TIMEOUT=${TEST_TIMEOUT:-900}
    [[ -f $ROOT/build/linux/bzImage && -f $ROOT/build/linux/initrd.cpio.gz ]] ||
        fail "build/linux/bzImage or initrd.cpio.gz missing: run make linux-guest"
}

# expect_linux_ran VM CPUS: the VM reached userspace with CPUS CPUs, its workers all answered,
# it powered off, and the kernel never complained of a stuck CPU.
expect_linux_ran() {
    local vm=$1 cpus=$2
    expect_match "^\[$vm\] matryoshka-linux: userspace reached, $cpus CPUs, TSC [0-9]+$"
    expect_line "[$vm] matryoshka-linux: PASS $cpus of $cpus workers answered through a pipe"
    expect_match "^\[$vm\] \[ *[0-9.]+\] Command line: console=ttyS0$"
    expect_line "matryoshka: vm $vm ended: power-off"
    if grep -qiE "soft lockup|rcu.*(stall|detected stalls)|hung_task|BUG:|WARNING:|Call Trace|Kernel panic" "$LOG"; then
        fail "the kernel complained: $(grep -iE -m1 "soft lockup|rcu.*stall|hung_task|BUG:|WARNING:|Call Trace|Kernel panic" "$LOG")"
    fi
}
