#!/usr/bin/env bash
# EPT memory types from the host MTRRs (arch/host_mtrr.hpp, ept/host_memory_types.hpp), in Bochs:
# the boot log shows the MTRR map Bochs's BIOS programs (WB by default, the first 640 KiB WB and
# the rest of the first MiB UC, [3 GiB, 4 GiB) UC for PCI), and each VM's EPT read back by leaf
# size and type. Guest RAM lies in host WB memory, so every leaf is WB; a 32 MiB guest takes 4 KiB
# pages for its first 2 MiB (the VGA hole is not mapped) and 2 MiB pages above. The splitting of
# large pages at type changes is unit-tested (tests/unit/mtrr_test.cpp).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot "" 0 --emulator bochs "hello,name=vm1,mem=32M" "hello,name=vm2,mem=6M"
expect_line "matryoshka: MTRRs: enabled (default WB), fixed ranges on, 8 variable ranges, 40-bit physical addresses"
expect_line "matryoshka: MTRRs: first MiB: [0x0, 0xa0000) WB, [0xa0000, 0x100000) UC"
expect_line "matryoshka: MTRRs: variable 0: base 0xc0000000 mask 0xffc0000000 UC"
[[ $(grep -c "^matryoshka: MTRRs: variable" "$LOG") == 1 ]] || fail "expected exactly one enabled variable range"
expect_match "^matryoshka: vm vm1: 32 MiB RAM at 0x[0-9a-f]+, 1 vCPU, EPT 0x[0-9a-f]+: 4K WB 416, 2M WB 15$"
expect_match "^matryoshka: vm vm2: 6 MiB RAM at 0x[0-9a-f]+, 1 vCPU, EPT 0x[0-9a-f]+: 4K WB 416, 2M WB 2$"
expect_line "matryoshka: vm vm1 ended: debug-exit 0"
expect_line "matryoshka: vm vm2 ended: debug-exit 0"
expect_line "matryoshka: exit status 0"
pass
