#!/usr/bin/env bash
# A kind=linux guest whose file is not a bzImage, and one whose initrd does not fit in its RAM,
# are clear errors naming the VM; the multiboot guest beside them still runs and passes, and the
# run's status is a failure because guests asked for never ran. No kernel boots here: the real
# bzImage is only used to be refused for lack of room.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
need_linux_guest

big=$ROOT/build/linux/test-initrd-24M.bin
[[ -f $big ]] || head -c $((24 << 20)) /dev/zero > "$big"
boot "" 1 --emulator bochs --mem 128 "hello,name=good" "$ROOT/build/guests/hello.elf,name=notlinux,kind=linux" \
    "$ROOT/build/linux/bzImage,name=small,mem=32M,initrd=$big"
expect_match "^matryoshka: error: guest 'notlinux': not a Linux bzImage \(no boot_flag 0xAA55 and \"HdrS\" setup header at 0x1fe/0x202\); not started$"
expect_match "^matryoshka: error: guest 'small': the 25165824-byte initrd does not fit below 0x2000000 \(end of RAM or initrd_addr_max\): [0-9]+ bytes free above the kernel \[0x1000000, 0x[0-9a-f]+\), 15728640 below; not started$"
expect_line "[good] PASS hello"
expect_line "matryoshka: vm good ended: debug-exit 0"
if grep -qE "^matryoshka: vm (notlinux|small) " "$LOG"; then fail "a refused guest ran"; fi
expect_line "matryoshka: exit status 1"
pass
