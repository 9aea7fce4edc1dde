#!/usr/bin/env bash
# The build-like load of `make bench` (guests/linux/build-workload), chosen by
# matryoshka.workload=build on the kernel command line, runs to its end in a Linux VM of 2 vCPUs
# time-sliced on 1 CPU: every unit's pipeline of short processes gives the right checksum, the
# default boot's test workers do not run, and the VM powers off.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
need_linux_guest

boot "" 0 --emulator bochs --cpus 1 --mem 256 "linux,name=lx,mem=128M,vcpus=2,cmdline=console=ttyS0 matryoshka.workload=build"
expect_match "^\[lx\] matryoshka-linux: userspace reached, 2 CPUs, TSC [0-9]+$"
expect_match "^\[lx\] matryoshka-linux: workload build: 24 units \(4 jobs of 6 on 2 CPUs\) in [0-9]+ ticks, [0-9]+ per unit$"
expect_line "[lx] matryoshka-linux: PASS workload build: 24 of 24 units right"
if grep -q "workers answered" "$LOG"; then fail "the default boot's test workers ran as well"; fi
expect_line "matryoshka: vm lx ended: power-off"
expect_line "matryoshka: exit status 0"
pass
