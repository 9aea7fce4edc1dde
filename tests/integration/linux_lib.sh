# shellcheck shell=bash
# Shared checks for the Linux guest tests (tests/integration/linux_*.sh): the kernel and
# initramfs of `make linux-guest` (guests/linux/README.md), which `make test` builds first.
# Source it after lib.sh.

# Linux in Bochs takes minutes of wall time; the boot itself does not depend on it.
TIMEOUT=${TEST_TIMEOUT:-900}
[[ -f $ROOT/build/linux/bzImage && -f $ROOT/build/linux/initrd.cpio.gz ]] ||
    fail "build/linux/bzImage or initrd.cpio.gz missing: run make linux-guest"

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
