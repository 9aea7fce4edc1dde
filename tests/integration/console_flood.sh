#!/usr/bin/env bash
# Two VMs print ~80 KiB at once, more than the hypervisor's serial queue holds (64 KiB): writers
# wait for room, and every line still arrives whole, once, in order, not mixed with the other's.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
lines=400
boot "" 0 --emulator bochs --cpus 2 "console_flood,name=fa,cmdline=name=fa lines=$lines" \
    "console_flood,name=fb,cmdline=name=fb lines=$lines"
for vm in fa fb; do
    expect_line "[$vm] PASS console_flood"
    expect_line "matryoshka: vm $vm ended: debug-exit 0"
    # The lines of this VM as they arrived: each must be the next number and exactly 100 bytes.
    # shellcheck disable=SC2016
    broken=$(tr -d '\r' <"$LOG" | awk -v vm="$vm" -v lines="$lines" '
        index($0, "[" vm "] flood " vm " line ") == 1 {
            text = substr($0, length(vm) + 4)
            if ($5 != sprintf("%04d", next_line) || length(text) != 100 - 1) { print "line " next_line ": " $0; exit }
            ++next_line
        }
        END { if (next_line != lines) print next_line " of " lines " lines arrived" }')
    [ -z "$broken" ] || fail "$vm: $broken"
done
expect_line "matryoshka: exit status 0"
pass
