#!/usr/bin/env bash
# Local APIC MMIO through the instruction forms the emulator decodes (mov, movzx, or/and/xor,
# test, xchg, cmpxchg, rep stos, movs, push/pop, a segment based at the APIC page).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot "" 0 --emulator bochs lapic_mmio
expect_line "[lapic_mmio] ok movzx byte/word of the TPR 0x5a (0x5a 0x5a)"
expect_line "[lapic_mmio] PASS lapic_mmio"
expect_line "matryoshka: vm lapic_mmio ended: debug-exit 0"
expect_line "matryoshka: exit status 0"
pass
