#!/usr/bin/env bash
# on_reboot=restart with Linux (vmx/vm_reset.hpp): with matryoshka.reboot on its command line the
# test guest's /init runs `reboot -f` instead of powering off. Linux with 2 vCPUs (on 2 CPUs, then
# on 1, where the boot vCPU must give its CPU to the other to let it park) stops its other CPU
# and resets the machine; the hypervisor parks both vCPUs, reloads the kernel and
# initrd into zeroed RAM and starts the boot vCPU again, and Linux boots a second time, brings up
# its second CPU again through INIT-SIPI-SIPI, and reaches userspace. Its second reset is past
# max_restarts=1 and ends the VM (reason reboot, so the run's status is 1). Nothing survives in
# guest memory, so it is the hypervisor's limit that ends this guest, which would reboot for ever.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
need_linux_guest

# count REGEX: the log's lines that match.
count() { grep -cE "$1" "$LOG" || true; }

# reboots_once LABEL CPUS: 2 vCPUs on CPUS CPUs boot, reset, boot again, reset and end.
reboots_once() {
    boot "$1" 1 --emulator bochs --cpus "$2" --mem 256 \
        "linux,name=lx,mem=128M,vcpus=2,on_reboot=restart,max_restarts=1,cmdline=console=ttyS0 matryoshka.reboot"
    [[ $(count "^\[lx\] \[ *[0-9.]+\] Linux version ") == 2 ]] || fail "Linux did not boot exactly twice"
    [[ $(count "^\[lx\] \[ *[0-9.]+\] smp: Brought up 1 node, 2 CPUs$") == 2 ]] || fail "not 2 CPUs in both boots"
    [[ $(count "^\[lx\] matryoshka-linux: userspace reached, 2 CPUs, TSC [0-9]+$") == 2 ]] || fail "userspace not reached twice"
    [[ $(count "^\[lx\] matryoshka-linux: PASS 2 of 2 workers answered through a pipe$") == 2 ]] || fail "no PASS line in both boots"
    [[ $(count "^\[lx\] \[ *[0-9.]+\] reboot: Restarting system$") == 2 ]] || fail "Linux did not restart twice"
    expect_line "matryoshka: vm lx: reset by the guest: restart 1 of 1"
    if grep -q "restart 2" "$LOG"; then fail "restarted past max_restarts=1"; fi
    # The first boot's last line before the restart, the second boot's first: in that order.
    first_restart=$(grep -n "reset by the guest: restart 1 of 1" "$LOG" | cut -d: -f1)
    second_banner=$(grep -nE "^\[lx\] \[ *[0-9.]+\] Linux version " "$LOG" | sed -n 2p | cut -d: -f1)
    (( first_restart < second_banner )) || fail "the second boot began before the restart"
    expect_line "matryoshka: vm lx ended: reboot"
    if grep -qiE "soft lockup|rcu.*(stall|detected stalls)|hung_task|BUG:|WARNING:|Call Trace|Kernel panic" "$LOG"; then
        fail "the kernel complained: $(grep -iE -m1 "soft lockup|rcu.*stall|hung_task|BUG:|WARNING:|Call Trace|Kernel panic" "$LOG")"
    fi
    expect_line "matryoshka: exit status 1"
}

reboots_once 2on2 2
reboots_once 2on1 1
pass
