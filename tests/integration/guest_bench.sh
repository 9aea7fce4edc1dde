#!/usr/bin/env bash
# The bench guest under the hypervisor prints every figure (make bench reads them), including the
# VMCALL round trip (hypercall 0x7fff, nop).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot "" 0 --emulator bochs "bench,cmdline=n=200"
for figure in rdtsc cpuid out80 lapic_read vmcall floor; do
    expect_match "^\[bench\] BENCH ${figure}_min [0-9]+$"
    expect_match "^\[bench\] BENCH ${figure}_median [0-9]+$"
done
expect_match "^\[bench\] BENCH compute_mem [0-9]+$"
expect_line "[bench] PASS bench"
expect_line "matryoshka: exit status 0"
pass
